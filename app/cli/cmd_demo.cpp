// `genlens demo`: the embedded demo world end to end (core/demo/pipeline.h), with one
// overall progress bar and a line per finished stage; with --study, then the paper's
// ablations on it and the claims judged (core/demo/ablations.h), under a bar of their own.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>

#include "app/cli/command.h"
#include "app/cli/progress.h"
#include "core/demo/ablations.h"
#include "core/demo/pipeline.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string out, world;
  bool force = false, quick = false, json = false, quiet = false, strict = false, study = false;
  int seeds = 1;
  int64_t study_steps = 0;
};

// "[#########...........]  45%  6/9 adapter: train 120/300 steps  elapsed 1m02s"
std::string overall_line(const runtime::JobSnapshot& s, int stage) {
  const auto& names = demo::demo_stage_names();
  const double frac = demo::overall_fraction(stage, s.stage, s.done, s.total);
  const int width = 24;
  const int fill = static_cast<int>(frac * width);
  std::string what = stage >= 0 && stage < static_cast<int>(names.size())
                         ? fmt::format("{}/{} {}", stage + 1, names.size(), names[static_cast<size_t>(stage)])
                         : "starting";
  std::string detail = s.stage;
  if (s.total > 0) detail += fmt::format(" {}/{} {}", s.done, s.total, s.unit);
  return fmt::format("[{}{}] {:3.0f}%  {:<14} {:<32}  elapsed {}", std::string(fill, '#'),
                     std::string(width - fill, '.'), frac * 100, what, detail, runtime::format_duration(s.elapsed_s));
}

// "[#####...................]  21%  study 1/3 losses: recon-weight=1 align-weight=0 seed 42
//  train 120/500 steps  elapsed 3m10s" (one line)
// The three studies' runs weighted alike; `shown` keeps the bar from moving back when a
// study starts while the previous one's last part is still on the job's line.
std::string study_line(const runtime::JobSnapshot& s, const std::vector<demo::AblationStudy>& plan, int study,
                       double& shown) {
  size_t total = 0, before = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    total += plan[i].runs;
    if (static_cast<int>(i) < study) before += plan[i].runs;
  }
  const bool in_range = study >= 0 && study < static_cast<int>(plan.size());
  const size_t runs = in_range ? plan[static_cast<size_t>(study)].runs : 0;
  const double within = in_range && s.parts == static_cast<int64_t>(runs) ? s.overall_fraction() : 0.0;
  const double frac =
      total ? (static_cast<double>(before) + within * static_cast<double>(runs)) / static_cast<double>(total) : 0.0;
  shown = std::max(shown, std::min(1.0, frac));
  const int width = 24;
  const int fill = static_cast<int>(shown * width);
  const std::string what = in_range ? fmt::format("study {}/{} {}: {}", study + 1, plan.size(),
                                                  plan[static_cast<size_t>(study)].name, s.part_label)
                                    : std::string("starting");
  std::string detail = s.stage;
  if (s.total > 0) detail += fmt::format(" {}/{} {}", s.done, s.total, s.unit);
  return fmt::format("[{}{}] {:3.0f}%  {}  {}  elapsed {}", std::string(fill, '#'), std::string(width - fill, '.'),
                     shown * 100, what, detail, runtime::format_duration(s.elapsed_s));
}

// After the demo is built: the three ablation studies (cached runs are found done) and
// the claims. Prints report.md (or claims.json with --json).
int run_study_part(const Opts& o, const std::filesystem::path& workspace, bool quiet) {
  demo::AblationOptions a;
  a.workspace = workspace;
  a.seeds = o.seeds;
  a.steps = o.study_steps;
  auto study = std::make_shared<std::atomic<int>>(-1);
  a.on_study = [study](int index, const std::string&) { study->store(index); };
  const auto plan = demo::ablation_studies(a);  // a workspace without a finished demo is named before any work
  size_t runs = 0;
  for (const auto& p : plan) runs += p.runs;
  if (!quiet)
    fmt::print(stderr, "genlens demo --study: {} studies, {} training runs into {}\n", plan.size(), runs,
               (workspace / "study").string());
  demo::AblationReport report;
  runtime::Job job("demo-study", [&](runtime::JobContext& ctx) { report = demo::run_ablations(ctx, a); });
  ProgressStyle style;
  style.keep_stage_lines = false;
  auto shown = std::make_shared<double>(0.0);
  style.line = [study, plan, shown](const runtime::JobSnapshot& s) {
    return study_line(s, plan, study->load(), *shown);
  };
  // Which study starts, and which runs were found done or copied; not the trainer's steps.
  style.show_log = [](const std::string& l) {
    return l.rfind("  study ", 0) == 0 || l.find("done earlier") != std::string::npos ||
           l.find("copied, not trained") != std::string::npos || l.find("resum") != std::string::npos;
  };
  const int rc = run_job_cli(job, quiet, style);
  if (rc != kOk) {
    if (rc == kCancelled)
      fmt::print(stderr, "stopped; the finished runs are kept: run the same command again to continue\n");
    return rc;
  }
  if (!quiet) fmt::print(stderr, "report: {}\n", (workspace / "study" / "report.md").string());
  fmt::print("{}", o.json ? demo::claims_to_json(report.claims).dump(2) + "\n" : "\n" + report.markdown);
  return kOk;
}

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--out", o->out, "Workspace folder (default: $GENLENS_DEMO_DIR or ~/.cache/genlens/demo)");
  sub.add_option("--world", o->world, "World file (default: assets/demo/world.json; schema in the README)");
  sub.add_flag("--force", o->force, "Rebuild every stage instead of reusing the workspace");
  sub.add_flag("--quick", o->quick, "The reduced variant: 300 adapter steps instead of 500 (what CI runs)");
  sub.add_flag("--strict", o->strict,
               "Refuse a world that cannot make what it asks for (too few held-out wordings, an answer key "
               "without a passage, half a safety task) instead of listing the shortfall in the report");
  sub.add_flag("--json", o->json, "Print report.json instead of the readable report (with --study: claims.json)");
  auto* study = sub.add_flag("--study", o->study,
                             "Then run the paper's three ablations on the workspace (losses, thought tokens, "
                             "compression tokens; WS/study) and judge its claims; cached runs are not trained again");
  sub.add_option("--seeds", o->seeds,
                 "With --study: runs per variant (seeds 42, 43, ...; more than one shows the noise)")
      ->check(kAtLeastOne)
      ->needs(study)
      ->capture_default_str();
  sub.add_option("--study-steps", o->study_steps, "With --study: adapter steps per variant (default: the demo's own)")
      ->check(kAtLeastOne)
      ->needs(study);
  add_quiet_flag(sub, o->quiet);
  return [o, &sub]() -> int {
    const bool quiet = quiet_requested(sub, o->quiet);
    auto stage = std::make_shared<std::atomic<int>>(-1);
    demo::DemoOptions d;
    d.workspace = o->out.empty() ? demo::default_demo_workspace() : std::filesystem::path(o->out);
    d.world_file = o->world;
    d.force = o->force;
    d.quick = o->quick;
    d.strict = o->strict;
    d.on_stage = [stage](int index, const std::string&) { stage->store(index); };
    if (!quiet) fmt::print(stderr, "genlens demo: building {} ({} variant)\n", d.workspace.string(), o->quick ? "quick" : "default");
    nlohmann::json report;
    runtime::Job job("demo", [&](runtime::JobContext& ctx) { report = demo::run_demo(ctx, d); });
    ProgressStyle style;
    style.keep_stage_lines = false;
    style.line = [stage](const runtime::JobSnapshot& s) { return overall_line(s, stage->load()); };
    // The pipeline's own stage lines (indented) and resume notices; not the sub-jobs' chatter.
    style.show_log = [](const std::string& l) { return l.rfind("  ", 0) == 0 || l.find("resum") != std::string::npos; };
    int rc = run_job_cli(job, quiet, style);
    if (rc != kOk) {
      if (rc == kCancelled) fmt::print(stderr, "stopped; run the same command again to continue where it stopped\n");
      return rc;
    }
    if (o->study) return run_study_part(*o, d.workspace, quiet);
    fmt::print("{}", o->json ? report.dump(2) + "\n" : "\n" + demo::format_demo_report(report));
    return kOk;
  };
}

RegisterCommand reg({"demo", "Build the demo workspace (world, tiny LM, adapter, eval, maps, lens) and print the report",
                     setup, 5});

}  // namespace
}  // namespace genlens::cli
