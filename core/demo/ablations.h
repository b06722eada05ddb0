// `genlens demo --study`: the paper's three ablations on a built demo workspace, each a
// `genlens study` (core/runs/study.h) from the demo adapter's own settings
// (stages::adapter_settings), then the claims judged on them (core/demo/claims.h).
//
// WS/study/
//   losses/        recon-weight, align-weight zipped over 1/1, 1/0, 0/1
//   thought/       thought = 0, 10          (reuses losses' recon+align run)
//   compression/   compression = 2, 5, 10, 20 (reuses it too)
//   claims.json    the claims (claims_to_json)
//   report.md      the three tables and the claims
// Every study is resumable and cached per run, so a rerun on a finished workspace trains
// nothing; the same studies run with `genlens study` by hand are found done.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/demo/claims.h"
#include "core/runs/study.h"

namespace genlens::runtime {
class JobContext;
}

namespace genlens::demo {

struct AblationOptions {
  std::filesystem::path workspace;  // a finished demo workspace (run_demo first)
  int seeds = 1;                    // runs per variant: seeds 42, 43, ...
  int64_t steps = 0;                // adapter steps per run (0: the demo's own)
  // Called (on the job's thread) as each study starts: its index in ablation_studies().
  std::function<void(int index, const std::string& name)> on_study;
};

struct AblationStudy {
  std::string name;   // "losses", "thought", "compression": the folder under WS/study
  std::string title;  // the report's heading
  runs::StudyOptions options;
  size_t runs = 0;    // training runs it plans (for an overall bar)
};

// The three studies' options, in the order they run. Throws naming the workspace when it
// has no finished demo (report.json) or an unreadable demo.json.
std::vector<AblationStudy> ablation_studies(const AblationOptions& o);

struct AblationReport {
  std::vector<runs::Study> studies;  // in ablation_studies' order
  std::vector<Claim> claims;
  std::string markdown;              // report.md
};

// Runs (or finds done) the three studies, judges the claims and writes WS/study/claims.json
// and report.md, both atomically.
AblationReport run_ablations(runtime::JobContext& ctx, const AblationOptions& o);

// report.md's text: a heading, what was run, the three tables, the claims.
std::string ablation_markdown(const std::vector<AblationStudy>& plan, const std::vector<runs::Study>& studies,
                              const std::vector<Claim>& claims);

}  // namespace genlens::demo
