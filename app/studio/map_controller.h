// The Embedding map's feature: encoding the corpus and laying it out (PCA, or UMAP
// animating while it optimises) on the generative and input-centric maps, a layout read
// from .npy, the regions' labels written by the embedding, the inspected query's marker
// on both maps, and the selection (box, region, export).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/studio/pending.h"
#include "app/studio/studio_context.h"
#include "app/studio/studio_results.h"
#include "views/map_view.h"

namespace genlens::studio {

// Places `query` on the maps `fits` was fitted for, publishing into res.place_*; the
// stage is named `stage` + the map's mode + " map". Runs on a job thread.
void place_on_maps(runtime::JobContext& ctx, CoreSession& core, const LoadedModel& m, const MapFits& fits,
                   const std::string& query, const std::string& stage, QueryResults& res);

// The corpus's embeddings behind the maps, rows normalised (for cosine matrices).
struct MapEmbeddings {
  std::vector<float> generative, input;
  int64_t dim_generative = 0, dim_input = 0;
  int version = 0;  // moves when a projection finishes
};

class MapController {
 public:
  explicit MapController(StudioContext& cx);

  // What the maps say before a projection: what to open or fix.
  views::Status hint() const;
  void show_hint() { map_.generative.status = map_.input.status = hint(); }
  // The corpus was read (or could not be); the method of a Project pressed meanwhile
  // ("" = none), to be started now.
  std::string corpus_read(bool ok);

  void project(const std::string& method, const std::string& instruction);
  void open_layout(const std::string& npy);
  void poll();

  // The inspected query: its markers go; the layouts it is placed on (none yet: it is
  // placed when the maps are laid out).
  std::shared_ptr<const MapFits> query_inspected(const std::string& query);
  void mark_query(const QueryResults& r);

  void select_box(float x0, float y0, float x1, float y1, bool fractions);
  bool select_region(int k);
  void export_selection();
  void nudge(int k);
  // "markers", "regions", "selected", "map-status" (script.h "expect").
  std::optional<std::string> script_value(const std::string& key) const;

  int project_job() const { return projection_.id(); }
  int place_job() const { return place_.id(); }
  int region_job() const { return regions_.id(); }
  const MapEmbeddings& embeddings() const { return emb_; }
  const views::MapState& state() const { return map_state_; }
  const views::MapSnapshot& snapshot() const { return map_; }
  views::MapState& ui() { return map_state_; }

 private:
  struct ProjectResults;
  void poll_projection();
  void poll_place();
  void start_place_query();
  void start_region_labels(const analysis::Points& gen_layout, const std::string& instruction);
  void poll_region_labels();

  StudioContext& cx_;
  views::MapSnapshot map_;
  views::MapState map_state_;
  Pending<ProjectResults> projection_;
  uint64_t gen_frame_seen_ = 0, input_frame_seen_ = 0;
  std::string pending_project_;  // Project pressed while the corpus was still loading
  std::shared_ptr<const MapFits> fits_;        // the finished layouts' fits (to place a query)
  std::shared_ptr<const MapFits> query_fits_;  // the fits the inspected query was (or is being) placed on
  std::optional<std::string> query_;           // the inspected query
  Pending<QueryResults> place_;                // placing the query on layouts made after it
  Pending<std::vector<RegionLabel>> regions_;
  MapEmbeddings emb_;
};

}  // namespace genlens::studio
