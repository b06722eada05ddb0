// `genlens demo`: the whole method on the demo world, offline, on a laptop CPU.
// Stages, each cached in the workspace and resumable (README "The demo workspace"):
//   world -> tokenizer -> lm -> responses -> adapter -> eval -> maps -> lens -> report
// The report (report.json) is plain JSON so the studio and scripts read it without torch.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "core/runtime/job.h"

namespace genlens::demo {

struct DemoOptions {
  std::filesystem::path workspace;   // empty: default_demo_workspace()
  std::filesystem::path world_file;  // empty: default_world_file()
  bool force = false;                // rebuild every stage
  bool quick = false;                // the reduced variant CI runs
};

// $GENLENS_DEMO_DIR, else $XDG_CACHE_HOME/genlens/demo, else ~/.cache/genlens/demo.
std::filesystem::path default_demo_workspace();

// Builds (or finishes) the workspace and writes report.json; returns the report.
// Job stages are named "k/9 name"; progress is per stage. Throws genlens::Error on bad
// input (a workspace built with another world or variant needs --force).
nlohmann::json run_demo(runtime::JobContext& ctx, const DemoOptions& options);

// report.json of a finished workspace; throws naming the path when there is none.
nlohmann::json load_demo_report(const std::filesystem::path& workspace);
bool demo_report_exists(const std::filesystem::path& workspace);

// The report as the readable text `genlens demo` prints (eval table, lens and decode
// rates, the tiny LM's accuracy, timings, where the files are).
std::string format_demo_report(const nlohmann::json& report);

}  // namespace genlens::demo
