// --script FILE: UI actions, one per line, so tests (and people filing bugs) can drive
// real flows under Xvfb. Each frame the runner executes commands until one has to wait
// (for a job, for frames, for training steps); the UI keeps drawing meanwhile.
//
//   open model|adapter|run|corpus|workspace|layout|study PATH   (layout: an [N, 2] .npy on both
//                              maps; study: a genlens study folder on the Compare tab)
//   query TEXT                 type TEXT into the inspector and run it
//   view workspace|inspector|map|compare|training
//   project [PCA|UMAP]         encode the open corpus and lay it out (UMAP animates)
//   walk TEXT                  interpolation walk from the inspected query to TEXT
//   pin ROW COL                pin a logit-lens cell (latent lens of that layer/position; -1 -1 unpins)
//   ablate [zero|mean|patch]   ablate the pinned cell, or patch it from the walk's second
//                              query (wait ablate for the result)
//   attribute [generative|mean] the inspected query's tokens coloured by integrated gradients
//                              in that space (wait attribute; key "attribution")
//   lens logit|tuned [train]   the inspector's lens kind; the tuned lens is the checkpoint's
//                              (train: make one on the workspace's questions first; wait
//                              tuned-lens; key "tuned-lens": its KL per layer)
//   scroll top|bottom          the shown tab scrolled to its top or bottom (next frame)
//   arithmetic EXPR            decode the point "A" - "B" + "C" / row:N names (wait arithmetic;
//                              key "arithmetic": the decoded text)
//   trace [walk|noise]         causal trace of the inspected query from the walk's second
//                              query, or from its own words noised (wait trace; key "trace")
//   select X0 Y0 X1 Y1         box-select on the map (data coordinates)
//   select-frac X0 Y0 X1 Y1    the same with corners as fractions of the layout's extent
//   select-region K            the points of region K of the generative map (0 = the largest;
//                              after "wait regions")
//   study-pick A B             the open study's variants on its two maps (rows from 0, or names;
//                              after "wait study"; then "wait study-maps")
//   study-inspect ID           a held-out query of the study's maps, as a click on it does
//   train-set KEY VALUE        model, data, out, teacher, device, steps, warmup, batch, lr,
//                              thought, compression, save-every
//   train-start | train-resume | train-stop | train-pause | train-continue
//   probe TEXT                 the training probe query (lens + decoded text at each checkpoint)
//   wait JOB [SECONDS]         until no job named JOB runs (JOB "all": none at all); default 120 s
//                              (jobs: demo, corpus, project, regions, query, walk, latent, ablate,
//                              trace, attribute, arithmetic, tuned-lens, eval, eval-results,
//                              train, probe, study, study-maps)
//   wait-steps N [SECONDS]     until the followed run has logged step N
//   frames N                   render N frames
//   pan-zoom N                 render N frames, zooming and panning both maps a little each frame
//   screenshot PATH            save the window (and the drawn panels to --panel-log)
//   save-png map|loss|cos|lr|grad|speed PATH
//                              the map panels or one training plot as a PNG, as its PNG
//                              button does (its view must be on screen)
//   expect KEY VALUE [SECONDS]  until the studio's KEY reads VALUE (default 10 s), else fail
//   expect-text KEY TEXT       until KEY contains TEXT (10 s), else fail. Keys
//                              (StudioApp::script_value): training-points (the loss curve's
//                              points), checkpoints, training-state, markers (maps showing
//                              the query), regions (region labels drawn), selected,
//                              map-status, workspace-error, corpus-error, train-warning,
//                              probe (the training probe query), probe-done (yes when
//                              every checkpoint is probed), study-status (ready, or the
//                              reader's error), study-maps (ready, or why not), study-selected
//                              (the maps' selected ids), study-inspected (both decoded texts),
//                              ablation (the pinned cell's: title, cosine, bars), trace (the
//                              grid and its strongest cell, else the status line), attribution
//                              (each space's top token and score), log
//   quit
// Blank lines and lines starting with # are ignored. Arguments may use ${NAME} (or $NAME)
// from the environment (an unset one is an error); in paths (open, screenshot, save-png)
// a leading ~/ is $HOME.
#pragma once
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace genlens::studio {

class StudioApp;

struct ScriptCommand {
  int line = 0;
  std::string verb;
  std::vector<std::string> args;  // "query" keeps the rest of the line as one argument
};

// Parses the file; genlens::Error naming FILE:LINE for unknown verbs or missing arguments.
std::vector<ScriptCommand> parse_script(const std::filesystem::path& path);

class ScriptRunner {
 public:
  explicit ScriptRunner(std::vector<ScriptCommand> cmds) : cmds_(std::move(cmds)) {}
  // Runs commands for this frame. Sets `screenshot` when the frame must be saved.
  // Returns false when the script has finished (or asked to quit). Throws genlens::Error
  // when a wait times out or a command fails, naming the line.
  bool step(StudioApp& app, std::string& screenshot);
  bool done() const { return pc_ >= cmds_.size(); }

 private:
  std::vector<ScriptCommand> cmds_;
  size_t pc_ = 0;
  bool waiting_ = false;
  std::chrono::steady_clock::time_point wait_start_;
  int frames_left_ = 0;
};

}  // namespace genlens::studio
