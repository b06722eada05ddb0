// Demo build view: what `genlens-studio --demo` shows while it builds the demo
// workspace (the same pipeline as `genlens demo`): one overall bar, the stages with a
// tick, the running one's own progress, times, and Cancel. When the build fails or is
// cancelled it says so and how to continue.
#pragma once
#include <string>
#include <vector>

namespace genlens::views {

struct DemoStageRow {
  std::string name;
  enum State { Pending, Running, Done } state = Pending;
  double seconds = 0;  // Done: how long it took (0: under half a second, e.g. reused from an earlier build)
};

struct DemoBuildSnapshot {
  std::string workspace;       // where it is built
  std::string variant;         // "default" / "quick"
  std::vector<DemoStageRow> stages;
  float overall = 0;           // 0..1, weighted by the stages' usual share of the time
  std::string detail;          // the running stage's own line: "lm: pretraining 0.52M parameters 120/800 steps"
  float stage_fraction = -1;   // the running stage's progress; -1 = unknown
  double elapsed_s = 0;
  std::string error;           // non-empty: the build stopped with this message
  bool cancelled = false;
};

struct DemoBuildIntents {
  bool cancel = false;
  bool retry = false;  // after a failure or cancel: run the build again (it resumes)
};

DemoBuildIntents draw_demo_build_view(const DemoBuildSnapshot& snap);

}  // namespace genlens::views
