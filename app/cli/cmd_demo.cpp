// `genlens demo`: the embedded demo world end to end (core/demo/pipeline.h).
#include <fmt/format.h>

#include "app/cli/command.h"
#include "app/cli/progress.h"
#include "core/demo/pipeline.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string out, world;
  bool force = false, quick = false, json = false, quiet = false;
};

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--out", o->out, "Workspace folder (default: $GENLENS_DEMO_DIR or ~/.cache/genlens/demo)");
  sub.add_option("--world", o->world, "World file (default: assets/demo/world.json; schema in the README)");
  sub.add_flag("--force", o->force, "Rebuild every stage instead of reusing the workspace");
  sub.add_flag("--quick", o->quick, "The reduced variant (smaller world, model and training; what CI runs)");
  sub.add_flag("--json", o->json, "Print report.json instead of the table");
  add_quiet_flag(sub, o->quiet);
  return [o, &sub]() -> int {
    const bool quiet = quiet_requested(sub, o->quiet);
    demo::DemoOptions d;
    d.workspace = o->out;
    d.world_file = o->world;
    d.force = o->force;
    d.quick = o->quick;
    nlohmann::json report;
    runtime::Job job("demo", [&](runtime::JobContext& ctx) { report = demo::run_demo(ctx, d); });
    int rc = run_job_cli(job, quiet);
    if (rc != kOk) {
      if (rc == kCancelled) fmt::print(stderr, "stopped; run the same command again to continue\n");
      return rc;
    }
    fmt::print("{}", o->json ? report.dump(2) + "\n" : demo::format_demo_report(report));
    return kOk;
  };
}

RegisterCommand reg({"demo", "Build the demo workspace: world, tiny LM, adapter, eval, maps, lens; print the report",
                     setup, 5});

}  // namespace
}  // namespace genlens::cli
