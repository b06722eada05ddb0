// The studio's application: one controller per feature (workspace, inspector, map,
// compare, training and its probe, demo build) owns its jobs and its view's snapshot;
// the app polls them each frame, draws the frame and routes the views' intents (and a
// script's actions, --script) to them.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "app/studio/arithmetic_controller.h"
#include "app/studio/attribution_controller.h"
#include "app/studio/compare_controller.h"
#include "app/studio/demo_controller.h"
#include "app/studio/inspector_controller.h"
#include "app/studio/map_controller.h"
#include "app/studio/png_exports.h"
#include "app/studio/studio_context.h"
#include "app/studio/study_controller.h"
#include "app/studio/trace_controller.h"
#include "app/studio/training_controller.h"
#include "app/studio/tuned_lens_controller.h"
#include "app/studio/workspace_controller.h"
#include "views/layout_view.h"

namespace genlens::studio {

struct StudioOptions {
  std::string workspace, model, adapter, run, corpus;
  std::string study;     // a study folder (genlens study --out): opened on the Compare tab
  std::string cli_path;  // the `genlens` executable that runs the jobs
  bool bf16_weights = false;  // --weights bf16: the CPU's low-memory format (model/linear.h)
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
  void inspect(const std::string& query) {
    trace_.query_changed();
    attribution_.query_changed();
    tuned_.query_changed();
    inspector_.inspect(query, map_);
    if (tuned_.ui().kind == 1) tuned_.start(inspector_.query_shown(), inspector_.instruction(), false);
  }
  void show(Tab t) {
    requested_tab_ = t;
    tab_pending_ = true;
  }
  // Box selection on the generative map (the input-centric one when there is none), in
  // data coordinates or, with `fractions`, as fractions of the layout's extent.
  void select_box(float x0, float y0, float x1, float y1, bool fractions = false) {
    map_.select_box(x0, y0, x1, y1, fractions);
  }
  // Selects the points of region `k` of the generative map (0 = the largest); false when
  // there are no region labels (yet) or no such region.
  bool select_region(int k) { return map_.select_region(k); }
  // Encodes the corpus and lays it out ("PCA", "UMAP"; "" = the method chosen on the tab).
  void project(const std::string& method = "") { map_.project(method, inspector_.instruction()); }
  void walk(const std::string& to) { inspector_.walk(to); }  // interpolation walk from the inspected query
  void open_layout(const std::string& npy) { map_.open_layout(npy); }  // an [N, 2] layout from .npy on both maps
  void run_eval() { compare_.run_eval(); }  // genlens eval over the workspace's tasks/
  // A study folder (or its study.json) on the Compare tab; the two variants on its maps
  // (rows or names); a held-out query inspected as a click on a map does.
  void open_study(const std::string& path) { study_.open(path); }
  bool pick_study_variants(const std::string& a, const std::string& b) { return study_.pick(a, b); }
  void inspect_study_query(const std::string& id) { study_.inspect(id); }
  // Builds the demo workspace in `dir` (core/demo/pipeline.h, as `genlens demo`) with
  // its progress on screen, then opens it. A finished workspace opens at once.
  void build_demo(const std::string& dir, bool quick);
  // One step of a scripted pan and zoom on both maps (frame-time measurements).
  void nudge_maps(int k) { map_.nudge(k); }
  void pin_lens_cell(int row, int col) { inspector_.pin_lens_cell(row, col); }
  // kind 0: zero, 1: the corpus mean, 2: patched from the walk's second query.
  void ablate_pinned(int kind) {
    inspector_.ui().ablation_kind = kind;
    inspector_.ablate();
  }
  // Causal trace of the inspected query, from the walk's second query or (`noise`) from
  // the query with its words noised.
  void trace(bool noise);
  // Integrated-gradients attribution of the inspected query (both spaces); `space` 0 shows
  // the generative one, 1 mean pooling.
  void attribute();
  void show_attribution(int space) { attribution_.ui().space = space; }
  // The inspector's lens: the logit lens, or the checkpoint's tuned lens (`train`: make one
  // first when it has none).
  void lens_kind(bool tuned, bool train = false);
  // Decodes the point an expression of queries and corpus rows names.
  void arithmetic(const std::string& expression) { arithmetic_.start(expression, inspector_.instruction()); }
  // Scrolls the shown tab to its top or bottom on the next frame (script "scroll").
  void scroll(bool to_bottom) { scroll_ = to_bottom ? Scroll::Bottom : Scroll::Top; }
  void start_training(bool resume);
  void stop_training() { training_.stop(); }
  // Pause freezes the run's process where it stands (SIGSTOP); continue picks it up again.
  void pause_training(bool pause) { training_.pause(pause); }

  // PNG export (png_exports.h): main() takes the capture after rendering the frame.
  using PngCapture = studio::PngCapture;
  std::optional<PngCapture> take_png_capture() { return png_.take(); }
  void png_saved(const PngCapture& c, const std::string& error) { log(png_.saved(c, error)); }
  // Script: "save-png map|loss|cos|lr|grad|speed PATH" (the view must be on screen).
  void save_png(const std::string& target, const std::string& path);
  bool png_busy() const { return png_.busy(); }
  const std::string& last_png_error() const { return png_.last_error(); }
  bool set_train_field(const std::string& key, const std::string& value) { return training_.set_field(key, value); }
  bool job_active(const std::string& name);  // "" = any
  void set_probe(const std::string& query) { training_.set_probe(query); }
  // A value a script can wait for or check (script.h "expect"); "?" for an unknown key.
  std::string script_value(const std::string& key) const;
  int64_t training_step() const { return training_.last_step(); }  // last step the followed run logged

  const std::vector<std::string>& drawn_panels() const { return drawn_; }  // last frame
  bool quit_requested() const { return layout_state_.request_quit; }
  void log(const std::string& line);

 private:
  void poll();
  void open_workspace_parts(const std::filesystem::path& given);
  void draw_main(const views::Rect& area);
  void draw_tab(Tab t);
  void draw_compare();  // the study (when one is open) and the single run's evaluation and similarity
  void draw_single_run_compare();

  StudioOptions opt_;
  views::LayoutSnapshot layout_;  // before cx_: the controllers log from their constructors
  views::LayoutState layout_state_;
  StudioContext cx_;
  WorkspaceController workspace_;
  InspectorController inspector_;
  TraceController trace_;
  AttributionController attribution_;
  ArithmeticController arithmetic_;
  TunedLensController tuned_;
  MapController map_;
  CompareController compare_;
  StudyController study_;
  TrainingController training_;
  DemoController demo_;
  PngExports png_;
  Tab tab_ = Tab::Workspace;
  Tab requested_tab_ = Tab::Workspace;
  bool tab_pending_ = true;
  std::vector<std::string> drawn_;
  int frame_no_ = 0;
  enum class Scroll { None, Top, Bottom } scroll_ = Scroll::None;
};

}  // namespace genlens::studio
