// The studio's application state: what is open (workspace, model, adapter, run, corpus),
// the job host, and one snapshot + UI state per view. Each frame it polls finished jobs
// and followed runs into the views' snapshots, draws the frame, and turns the views'
// intents into jobs. Scripts (--script) drive it through the same public methods.
#pragma once
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/studio/core_bridge.h"
#include "app/studio/job_host.h"
#include "app/studio/run_follower.h"
#include "app/studio/subprocess.h"
#include "views/compare_view.h"
#include "views/demo_build_view.h"
#include "views/inspector_view.h"
#include "views/layout_view.h"
#include "views/map_view.h"
#include "views/training_view.h"
#include "views/workspace_view.h"

namespace genlens::studio {

struct StudioOptions {
  std::string workspace, model, adapter, run, corpus;
  std::string cli_path;  // the `genlens` executable that runs the jobs
};

enum class Tab { Workspace, Inspector, Map, Compare, Training };
const char* to_string(Tab t);
bool parse_tab(const std::string& name, Tab& out);

class StudioApp {
 public:
  explicit StudioApp(StudioOptions opt);
  ~StudioApp();

  // One frame: poll jobs, draw, act on intents. Never waits on a job.
  void frame(float display_w, float display_h);

  // Actions (the views' intents and the script both use these).
  void open(views::OpenKind kind, const std::string& path);
  void inspect(const std::string& query);
  void show(Tab t) {
    requested_tab_ = t;
    tab_pending_ = true;
  }
  // Box selection on the generative map (the input-centric one when there is none), in
  // data coordinates or, with `fractions`, as fractions of the layout's extent.
  void select_box(float x0, float y0, float x1, float y1, bool fractions = false);
  // Selects the points of region `k` of the generative map (0 = the largest); false when
  // there are no region labels (yet) or no such region.
  bool select_region(int k);
  void project(const std::string& method = "");            // encode the corpus, lay it out ("PCA", "UMAP")
  void walk(const std::string& to);                         // interpolation walk from the inspected query
  void open_layout(const std::string& npy);                 // an [N, 2] layout from .npy on both maps
  void run_eval();
  // Builds the demo workspace in `dir` (core/demo/pipeline.h, as `genlens demo`) with
  // its progress on screen, then opens it. A finished workspace opens at once.
  void build_demo(const std::string& dir, bool quick);
  bool demo_building() const { return demo_job_ != 0; }
  // One step of a scripted pan and zoom on both maps (frame-time measurements).
  void nudge_maps(int k) {
    for (auto* v : {&map_state_.gen_view, &map_state_.input_view}) {
      v->fit = false;
      v->scale *= (k / 40) % 2 ? 0.985f : 1.015f;  // in for 40 frames, out for 40 (within 1.8x)
      v->cx += float((k % 80) < 40 ? 1 : -1) * 2.0f / v->scale;  // and 2 pixels sideways a frame
    }
  }
  void pin_lens_cell(int row, int col) {
    insp_state_.heat.pinned_row = row;
    insp_state_.heat.pinned_col = col;
    start_latent();
  }                                          // genlens eval over the workspace's tasks/
  void start_training(bool resume);
  void stop_training();
  // Pause freezes the run's process where it stands (SIGSTOP); continue picks it up again.
  void pause_training(bool pause);

  // PNG export of a map or a plot: a view asks (its PNG button), main() reads the pixels
  // after the frame is rendered and reports back. Files go to <workspace>/exports/ (or
  // ./exports/ with no workspace) unless a script names the path.
  struct PngCapture {
    std::string path;
    float x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // window pixels (ImGui's coordinates)
  };
  std::optional<PngCapture> take_png_capture();
  void png_saved(const PngCapture& c, const std::string& error);
  // Script: "save-png map|loss|cos|lr|grad|speed PATH" (the view must be on screen).
  void save_png(const std::string& target, const std::string& path);
  bool png_busy() const { return !png_script_path_.empty() || capture_.has_value(); }
  const std::string& last_png_error() const { return png_error_; }
  bool set_train_field(const std::string& key, const std::string& value);
  bool job_active(const std::string& name);  // "" = any
  void follow_run(const std::string& dir);
  void set_probe(const std::string& query) {
    std::snprintf(train_state_.probe, sizeof train_state_.probe, "%s", query.c_str());
    probe_submit_ = true;
    probe_typed_ = true;
  }
  // A value a script can wait for or check (script.h "expect"); "?" for an unknown key.
  std::string script_value(const std::string& key) const;
  int64_t training_step() const { return follower_ ? follower_->last_step() : 0; }  // last step the followed run logged

  const std::vector<std::string>& drawn_panels() const { return drawn_; }  // last frame
  bool quit_requested() const { return layout_state_.request_quit; }
  void log(const std::string& line);
  const std::vector<std::string>& log_lines() const { return layout_.log_lines; }
  Tab current_tab() const { return tab_; }

 private:
  struct QueryResults;
  struct ProjectResults;
  struct MapFits;
  void poll_jobs();
  void poll_query();
  void poll_projection();
  void set_markers(const QueryResults& r);
  void start_place_query();
  void poll_place();
  void start_latent();
  void open_workspace_parts(const std::filesystem::path& ws);
  void load_eval_results(const std::string& path);
  void poll_training();
  void absorb_follower();  // the followed run's series and checkpoints into the Training snapshot
  void poll_demo();
  void start_region_labels(const analysis::Points& gen_layout, const std::string& instruction);
  void poll_region_labels();
  void poll_probe();
  void update_workspace_snapshot();
  void draw_main(const views::Rect& area);
  void remember(views::OpenKind kind, const std::string& path);
  views::Status map_hint() const;  // what the maps say before a projection: what to open or fix
  std::vector<std::string> cli(std::vector<std::string> args) const;
  void set_similarity_from_selection();

  StudioOptions opt_;
  JobHost jobs_;
  Tab tab_ = Tab::Workspace;
  Tab requested_tab_ = Tab::Workspace;
  bool tab_pending_ = true;
  std::vector<std::string> drawn_;

  // What is open.
  std::string workspace_, model_, adapter_, run_, corpus_;
  std::string tasks_dir_, latent_index_, maps_dir_, eval_results_;
  std::vector<std::string> corpus_texts_, corpus_label_names_;
  std::string corpus_error_;  // the open corpus could not be read (file:line: why)
  std::vector<int> corpus_labels_;

  views::LayoutSnapshot layout_;
  views::LayoutState layout_state_;
  views::WorkspaceSnapshot ws_;
  views::WorkspaceState ws_state_;
  views::InspectorSnapshot insp_;
  views::InspectorState insp_state_;
  views::MapSnapshot map_;
  views::MapState map_state_;
  views::CompareSnapshot cmp_;
  views::CompareState cmp_state_;
  views::TrainingSnapshot train_;
  views::TrainingState train_state_;

  CoreSession core_;                          // the loaded model, shared by the jobs
  std::shared_ptr<QueryResults> query_;      // published part by part by the query job
  uint64_t query_seen_ = 0;
  int query_job_ = 0, walk_job_ = 0, latent_job_ = 0, eval_job_ = 0;
  std::shared_ptr<QueryResults> walk_, latent_;
  std::string latent_pin_;                    // "layer/position" the latent hits belong to
  std::shared_ptr<views::CompareSnapshot> eval_pending_;
  std::shared_ptr<ProjectResults> projection_;
  std::shared_ptr<const MapFits> fits_;       // the finished layouts' fits (to place a query)
  std::shared_ptr<const MapFits> query_fits_; // the fits the inspected query was (or is being) placed on
  std::shared_ptr<QueryResults> place_;       // placing the query on layouts made after it
  int place_job_ = 0;
  uint64_t gen_frame_seen_ = 0, input_frame_seen_ = 0;
  int project_job_ = 0, corpus_job_ = 0, region_job_ = 0;
  std::shared_ptr<std::vector<RegionLabel>> region_labels_;
  std::string pending_project_;  // Project pressed while the corpus was still loading
  std::shared_ptr<std::vector<std::string>> corpus_pending_texts_, corpus_pending_labels_;
  std::vector<float> emb_gen_, emb_input_;   // row-normalised embeddings of the corpus
  int64_t emb_dim_gen_ = 0, emb_dim_input_ = 0;
  std::vector<uint8_t> last_selection_;

  std::optional<PngCapture> capture_;  // asked for this frame, taken by main() after rendering
  std::string png_script_path_;        // a script's save-png waiting for its view to draw
  std::string png_error_;              // the last export's error ("" when it was written)
  void request_png(const views::PngRequest& r);
  int train_job_ = 0;
  bool offered_run_ = false;  // the finished run's adapter was offered (Workspace tab)
  std::shared_ptr<ProcessControl> train_control_;  // pause/continue of the run's process
  // The training probe: one job at a time, over checkpoints not probed yet.
  int probe_job_ = 0;
  std::string probe_query_;
  bool probe_submit_ = false;
  bool probe_typed_ = false;  // set by the person (or a script): inspecting a query no longer changes it
  std::vector<std::string> probed_;  // checkpoint dirs done (or failed) for probe_query_
  std::shared_ptr<views::ProbeFrame> probe_pending_;
  // The demo build (build_demo): its job, the stage it is in and when each began.
  struct DemoProgress;
  int demo_job_ = 0;
  bool demo_show_ = false;  // the build panel replaces the tabs until the workspace opens
  std::string demo_dir_;
  bool demo_quick_ = false;
  std::shared_ptr<DemoProgress> demo_progress_;
  views::DemoBuildSnapshot demo_;
  std::unique_ptr<RunFollower> follower_;
  size_t train_events_ = 0;
  int frame_no_ = 0;
};

}  // namespace genlens::studio
