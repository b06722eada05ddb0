// The Compare tab's feature: the evaluation table (eval/results.json read on a job, or
// `genlens eval` run over the workspace's tasks and then read), and the cosine matrices
// of the points selected on the map in both embedding spaces.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "app/studio/map_controller.h"
#include "app/studio/pending.h"
#include "app/studio/studio_context.h"
#include "views/compare_view.h"

namespace genlens::studio {

class CompareController {
 public:
  explicit CompareController(StudioContext& cx);

  void load_results(const std::string& path);
  void run_eval();
  void poll();
  // The cosine matrices of the map's selection, when it (or the projection) changed.
  void update_similarity(const MapController& map);

  int eval_job() const { return eval_.id(); }
  const views::CompareSnapshot& snapshot() const { return cmp_; }
  views::CompareState& ui() { return cmp_state_; }

 private:
  StudioContext& cx_;
  views::CompareSnapshot cmp_;
  views::CompareState cmp_state_;
  // Reading results.json fills a table; `genlens eval` has none (its results are read after).
  Pending<views::CompareSnapshot> eval_;
  std::vector<uint8_t> last_selection_;
  int embeddings_seen_ = 0;
};

}  // namespace genlens::studio
