// `genlens demo`: the embedded demo world end to end (core/demo/pipeline.h), with one
// overall progress bar and a line per finished stage.
#include <fmt/format.h>

#include <atomic>

#include "app/cli/command.h"
#include "app/cli/progress.h"
#include "core/demo/pipeline.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string out, world;
  bool force = false, quick = false, json = false, quiet = false, strict = false;
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

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--out", o->out, "Workspace folder (default: $GENLENS_DEMO_DIR or ~/.cache/genlens/demo)");
  sub.add_option("--world", o->world, "World file (default: assets/demo/world.json; schema in the README)");
  sub.add_flag("--force", o->force, "Rebuild every stage instead of reusing the workspace");
  sub.add_flag("--quick", o->quick, "The reduced variant: 300 adapter steps instead of 500 (what CI runs)");
  sub.add_flag("--strict", o->strict,
               "Refuse a world that cannot make what it asks for (too few held-out wordings, an answer key "
               "without a passage, half a safety task) instead of listing the shortfall in the report");
  sub.add_flag("--json", o->json, "Print report.json instead of the readable report");
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
    fmt::print("{}", o->json ? report.dump(2) + "\n" : "\n" + demo::format_demo_report(report));
    return kOk;
  };
}

RegisterCommand reg({"demo", "Build the demo workspace (world, tiny LM, adapter, eval, maps, lens) and print the report",
                     setup, 5});

}  // namespace
}  // namespace genlens::cli
