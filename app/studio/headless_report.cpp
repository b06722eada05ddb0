#include "app/studio/headless_report.h"

#include <fmt/format.h>

#include <chrono>

#include "core/demo/pipeline.h"
#include "core/runtime/env_info.h"
#include "core/util/error.h"

namespace genlens::studio {

int run_headless_report(bool build_if_missing) {
  auto e = runtime::probe_env();
  fmt::print("== genlens demo report ==\n");
  fmt::print("genlens {} | LibTorch {} | BLAS {} | {} threads\n", e.genlens_version, e.torch_version,
             e.blas_library.empty() ? "(none)" : e.blas_library, e.intra_op_threads);
  const auto ws = demo::default_demo_workspace();
  try {
    if (!demo::demo_report_exists(ws)) {
      if (!build_if_missing) {
        fmt::print("demo workspace: none at {} (build it with `genlens demo` or `genlens-studio --demo`)\n",
                   ws.string());
        return 0;
      }
      fmt::print("building the demo workspace in {} (a few minutes on 2 cores)\n", ws.string());
      runtime::Job job("demo", [&](runtime::JobContext& ctx) { demo::run_demo(ctx, {ws, {}, false, false}); });
      job.start();
      // A line when the stage changes and every 10 s (stdout may be a log file).
      std::string last_stage;
      int ticks = 0;
      while (!job.wait_for(std::chrono::milliseconds(1000))) {
        auto s = job.snapshot();
        if (s.stage != last_stage || ++ticks % 10 == 0) {
          fmt::print("  {} {}/{}\n", s.stage, s.done, s.total);
          std::fflush(stdout);
          last_stage = s.stage;
        }
      }
      job.rethrow_if_failed();
    }
    fmt::print("\n{}", demo::format_demo_report(demo::load_demo_report(ws)));
  } catch (const std::exception& ex) {
    fmt::print(stderr, "genlens-studio: {}\n", ex.what());
    return 1;
  }
  return 0;
}

}  // namespace genlens::studio
