#include "app/studio/headless_report.h"

#include <fmt/format.h>

#include <chrono>

#include "core/demo/pipeline.h"
#include "core/runtime/env_info.h"
#include "core/util/error.h"

namespace genlens::studio {

int print_no_display(const HeadlessRequest& a, const std::string& argv_tail) {
  auto arg = [](const std::string& p) {
    return p.find_first_of(" '\"$") == std::string::npos ? p : "'" + p + "'";
  };
  fmt::print(stderr,
             "genlens-studio: no display (DISPLAY and WAYLAND_DISPLAY are unset), so no window can open and nothing "
             "was opened.\nYou asked for:\n");
  auto line = [](const char* flag, const std::string& v) {
    if (!v.empty()) fmt::print(stderr, "  {:<13} {}\n", flag, v);
  };
  line("--workspace", a.workspace);
  line("--model", a.model);
  line("--adapter", a.adapter);
  line("--run", a.run);
  line("--corpus", a.corpus);
  line("--layout", a.layout);
  line("--script", a.script);
  line("--screenshot", a.screenshot);
  line("--study", a.study);
  const std::string model = !a.model.empty() ? arg(a.model) : !a.workspace.empty() ? arg(a.workspace + "/model") : "MODEL";
  const std::string adapter = !a.adapter.empty() ? arg(a.adapter)
                              : !a.run.empty()   ? arg(a.run)
                              : !a.workspace.empty() ? arg(a.workspace + "/run")
                                                     : "RUN_DIR";
  const std::string corpus = !a.corpus.empty() ? arg(a.corpus)
                             : !a.workspace.empty() ? arg(a.workspace + "/maps/points.jsonl")
                                                    : "TEXTS.jsonl";
  fmt::print(stderr, "\nThe same without a window (the studio's tabs call these):\n");
  fmt::print(stderr, "  genlens lens --model {} --adapter {} --query \"...\"            # Query inspector: logit lens\n",
             model, adapter);
  fmt::print(stderr, "  genlens decode --model {} --adapter {} --query \"...\"          # the text the embedding decodes to\n",
             model, adapter);
  fmt::print(stderr, "  genlens neighbors --model {} --adapter {} --corpus {} --query \"...\"\n", model, adapter, corpus);
  fmt::print(stderr, "  genlens encode --model {} --adapter {} --input {} --output emb.npy && \\\n"
                     "    genlens project --input emb.npy --output map.npy --method umap   # Embedding map\n",
             model, adapter, corpus);
  if (!a.study.empty())
    fmt::print(stderr, "  cat {}/table.md                                          # Compare: the study's table\n",
               arg(a.study));
  if (!a.run.empty()) fmt::print(stderr, "  tail -f {}/metrics.jsonl                                     # Training\n", arg(a.run));
  fmt::print(stderr, "\nOr give the studio a virtual display (scripts and screenshots work there):\n"
                     "  xvfb-run -a genlens-studio{} --screenshot studio.png\n",
             argv_tail);
  return 2;
}

int run_headless_report(bool build_if_missing, bool quick) {
  auto e = runtime::probe_env();
  fmt::print("== genlens demo report ==\n");
  fmt::print("genlens {} | LibTorch {} | BLAS {} | {} threads, BLAS {}\n", e.genlens_version, e.torch_version,
             e.blas_library.empty() ? "(none)" : e.blas_library, e.intra_op_threads, e.blas_threads);
  const auto ws = demo::default_demo_workspace();
  try {
    if (!demo::demo_report_exists(ws)) {
      if (!build_if_missing) {
        fmt::print("demo workspace: none at {} (build it with `genlens demo` or `genlens-studio --demo`)\n",
                   ws.string());
        return 0;
      }
      fmt::print("building the demo workspace in {} (a few minutes on 2 cores; `genlens demo` does the same)\n",
                 ws.string());
      demo::DemoOptions d;
      d.workspace = ws;
      d.quick = quick;
      runtime::Job job("demo", [&](runtime::JobContext& ctx) { demo::run_demo(ctx, d); });
      job.start();
      // The pipeline's stage lines as they come, and a progress line every 10 s (stdout
      // may be a log file, so no redrawing).
      size_t cursor = 0;
      int ticks = 0;
      while (!job.wait_for(std::chrono::milliseconds(1000))) {
        for (auto& e : job.events_since(cursor))
          if (e.kind == runtime::JobEvent::Kind::Log && e.text.rfind("  ", 0) == 0) fmt::print("{}\n", e.text);
        if (++ticks % 10 == 0) {
          auto s = job.snapshot();
          fmt::print("    ... {} {}/{} {} ({})\n", s.stage, s.done, s.total, s.unit, runtime::format_duration(s.elapsed_s));
        }
        std::fflush(stdout);
      }
      for (auto& e : job.events_since(cursor))
        if (e.kind == runtime::JobEvent::Kind::Log && e.text.rfind("  ", 0) == 0) fmt::print("{}\n", e.text);
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
