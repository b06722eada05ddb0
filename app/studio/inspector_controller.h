// The Query inspector's feature: a query's tokens, logit lens, decoded text and the
// model's own answer, nearest neighbours and its place on the maps (one job publishing
// part by part), the interpolation walk to a second query, and the latent lens of a
// pinned lens cell, and that cell ablated.
#pragma once
#include <memory>
#include <string>

#include "app/studio/map_controller.h"
#include "app/studio/pending.h"
#include "app/studio/studio_context.h"
#include "app/studio/studio_results.h"
#include "views/inspector_view.h"

namespace genlens::studio {

class InspectorController {
 public:
  explicit InspectorController(StudioContext& cx);

  void inspect(const std::string& query, MapController& map);
  void walk(const std::string& to);
  void pin_lens_cell(int row, int col);
  void start_latent();  // for the pinned cell (after a click on the lens, or a script)
  void ablate();        // the pinned cell, with the kind chosen in the view
  void poll(MapController& map);
  void corpus_read();  // the open corpus is in: neighbours for a query that waited for it
  void model_opened() { insp_.tokens_status = {views::Status::Idle, "Type a query above and press Enter."}; }

  // The chosen preset's instruction (the corpus is encoded with it, queries too).
  std::string instruction() const;
  const std::string& query_shown() const { return insp_.query_shown; }  // "" = none inspected
  const char* typed_query() const { return insp_state_.query; }

  int query_job() const { return query_.id(); }
  int walk_job() const { return walk_.id(); }
  int latent_job() const { return latent_.id(); }
  int ablation_job() const { return ablation_.id(); }
  const views::InspectorSnapshot& snapshot() const { return insp_; }
  views::InspectorState& ui() { return insp_state_; }

 private:
  void poll_query(MapController& map);
  void show_neighbours(const analysis::NeighborsResult& n);
  bool pinned_cell(int64_t& layer, std::string& label) const;  // false: none pinned

  StudioContext& cx_;
  views::InspectorSnapshot insp_;
  views::InspectorState insp_state_;
  Pending<QueryResults> query_;  // published part by part by the query job
  uint64_t query_seen_ = 0;
  Pending<QueryResults> walk_, latent_, ablation_, neighbours_;
  bool neighbours_after_corpus_ = false;  // the shown query was inspected while the corpus was read
  std::string latent_pin_;  // "layer/position" the latent hits belong to
};

}  // namespace genlens::studio
