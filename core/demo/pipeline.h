// `genlens demo`: the whole method on the demo world, offline, on a laptop CPU.
// Stages, each cached in the workspace and resumable (README "The demo workspace"):
//   world -> tokenizer -> lm -> lm-check -> responses -> adapter -> eval -> maps -> lens
// then report.json.
// The report (report.json) is plain JSON so the studio and scripts read it without torch.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/runtime/job.h"

namespace genlens::demo {

struct DemoOptions {
  std::filesystem::path workspace;   // empty: default_demo_workspace()
  std::filesystem::path world_file;  // empty: default_world_file()
  bool force = false;                // rebuild every stage
  bool quick = false;                // the reduced variant CI runs
  // Refuse a world that cannot make what it asks for (WorldData::shortfalls: too few
  // different held-out wordings, an answer key with no passage, half a safety task)
  // instead of listing the shortfalls in the report.
  bool strict = false;
  // Called (on the job's thread) as each stage starts, cached or not: its index in
  // demo_stage_names(). The CLI and the studio draw one overall bar from it.
  std::function<void(int index, const std::string& name)> on_stage;
};

// The stages in order: world, tokenizer, lm, lm-check, responses, adapter, eval, maps, lens.
const std::vector<std::string>& demo_stage_names();
// Rough share of a default run's time each stage takes (sums to 1), for an overall bar.
const std::vector<double>& demo_stage_weights();

// A part of a stage that reports its own progress: the job's stage line (JobSnapshot::stage)
// while it runs begins with `name`; `end` is the share of the stage done when it ends.
struct DemoPhase {
  std::string name;
  double end;
};
// The phases of stage `stage` in the order they run (empty: the stage is one phase under
// its own name).
const std::vector<DemoPhase>& demo_stage_phases(const std::string& stage);

// The whole build's progress (0..1) while stage `stage` (-1: none yet) is in phase `phase`
// (the job's stage line), `done` of `total` units through (total 0: unknown): the stages'
// weights, each split over its phases. One bar for the CLI and the studio that never moves
// back, though each phase counts from 0 again.
double overall_fraction(int stage, const std::string& phase, int64_t done, int64_t total);

// $GENLENS_DEMO_DIR, else $XDG_CACHE_HOME/genlens/demo, else ~/.cache/genlens/demo.
std::filesystem::path default_demo_workspace();

// Builds (or finishes) the workspace and writes report.json; returns the report.
// Progress is per stage (the job's stage line); options.on_stage says which. Throws genlens::Error on bad
// input (a workspace built with another world or variant needs --force). The world file is
// validated before anything in the workspace is written or removed: a bad one leaves the
// workspace as it was.
nlohmann::json run_demo(runtime::JobContext& ctx, const DemoOptions& options);

// report.json of a finished workspace; throws naming the path when there is none.
nlohmann::json load_demo_report(const std::filesystem::path& workspace);
bool demo_report_exists(const std::filesystem::path& workspace);

// The report as the readable text `genlens demo` prints (eval table, lens and decode
// rates, the tiny LM's accuracy, timings, where the files are).
std::string format_demo_report(const nlohmann::json& report);

// One example of the report (report.json's lens.examples[i]): the query with its kind,
// the lens words and the decoded text, each marked right or wrong ("[right kind]",
// "[wrong kind]"; "[has a response word]", "[no response word]").
std::string format_demo_example(const nlohmann::json& example);

// The studio command that opens `workspace`: `genlens-studio --demo` for the default
// workspace (default_demo_workspace()), `genlens-studio --workspace PATH` for any other.
std::string demo_studio_command(const std::filesystem::path& workspace);

}  // namespace genlens::demo
