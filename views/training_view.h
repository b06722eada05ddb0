// Training: a form for a run (model, data, teacher, steps, lr, batch, token counts,
// device), start / pause / continue / stop / resume, live curves (losses, cosine matched vs unmatched, lr,
// grad norm, throughput) with progress and ETA, the checkpoints list ("open in the
// inspector"), and following any run directory by its metrics.jsonl.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "views/view_common.h"
#include "views/widgets/line_plot.h"

namespace genlens::views {

// ★ The probe: one query's logit lens and decoded text, recomputed at every checkpoint
// the run writes, so a person watches the compression tokens learn.
struct ProbeFrame {
  int64_t step = 0;
  std::vector<std::string> lens_words;  // dominant words of the compression tokens (last layer)
  std::string decoded;                  // greedy text from the soft prompts
};

// Where the tab's run stands. Started here: Starting until its first step is logged,
// then Running; Pausing until its process is frozen (Paused); Stopping until it saved a
// checkpoint (Stopped); Done or Failed. A run followed from its directory is Following
// until it reached its planned steps (Finished).
enum class RunState { Idle, Starting, Running, Pausing, Paused, Stopping, Stopped, Done, Failed, Following, Finished };
const char* to_string(RunState s);  // "idle", "starting", ... as shown next to the run

struct TrainingSnapshot {
  std::string run_dir;
  RunState state = RunState::Idle;
  std::string stage;           // e.g. "tokenize", "train"
  std::string error;
  bool own_run = false;        // started here (can be stopped) vs followed
  int64_t step = 0, total_steps = 0;
  double rate = 0, eta_s = -1;  // steps per second, seconds left
  std::vector<PlotSeries> metrics;  // one per logged key (x = step)
  std::vector<std::string> checkpoints;
  std::vector<std::string> log_tail;
  std::vector<ProbeFrame> probes;  // by step, oldest first
  Status probe_status{Status::Idle, "The probe is computed at each checkpoint the run writes."};
  // The form's settings that are valid but probably not meant (gen::TrainSettings::warnings,
  // as `genlens train` prints them), e.g. a warm-up as long as the run.
  std::vector<std::string> form_warnings;
};

struct TrainingForm {
  char model[512] = "", data[512] = "", out[512] = "", teacher[256] = "mean-pool", device[32] = "cpu";
  int steps = 200, batch = 8, thought = 10, compression = 10, save_every = 50;
  int warmup = 100;  // linear warm-up steps (genlens train --warmup, same default)
  float lr = 1e-3f;
};

struct TrainingState {
  TrainingForm form;
  char follow[512] = "";
  LinePlotState loss_plot, cos_plot, lr_plot, grad_plot, speed_plot;
  bool init = false;
  char probe[512] = "";
  int probe_index = -1;  // the probe shown (timeline slider); -1 = always the newest
  std::string png_pending;  // a script's "save-png loss|cos|lr|grad|speed"
};

struct TrainingIntents {
  bool start = false, stop = false, resume = false;
  bool pause = false, unpause = false;  // freeze / continue the run's process
  std::string follow;            // a run dir to follow
  int open_checkpoint = -1;      // index into snapshot.checkpoints
  bool probe_changed = false;    // a new probe query was entered (state.probe)
  PngRequest png;                // a plot, as drawn this frame
};

TrainingIntents draw_training_view(const TrainingSnapshot& snap, TrainingState& state);

// The series named `names` from `all`, in that order (missing names skipped).
std::vector<PlotSeries> pick_series(const std::vector<PlotSeries>& all, const std::vector<std::string>& names);

}  // namespace genlens::views
