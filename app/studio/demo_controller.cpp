#include "app/studio/demo_controller.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <vector>

#include "core/demo/pipeline.h"

namespace genlens::studio {

// Written by the job's thread (on_stage), read by the UI thread.
struct DemoController::Progress {
  std::mutex mu;
  int stage = -1;
  std::vector<double> began;  // steady seconds when each stage began (-1: not reached)
  std::vector<double> took;   // seconds each finished stage took
};

namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

bool DemoController::build(const std::string& dir, bool quick) {
  if (demo::demo_report_exists(dir)) return false;
  const auto& names = demo::demo_stage_names();
  dir_ = dir;
  quick_ = quick;
  show_ = true;
  auto progress = std::make_shared<Progress>();
  progress->began.assign(names.size(), -1);
  progress->took.assign(names.size(), 0);
  demo_ = {};
  demo_.workspace = dir;
  demo_.variant = quick ? "quick" : "default";
  for (auto& n : names) demo_.stages.push_back({n, views::DemoStageRow::Pending, 0});

  demo::DemoOptions d;
  d.workspace = dir;
  d.quick = quick;
  d.on_stage = [progress](int index, const std::string&) {
    std::lock_guard<std::mutex> lock(progress->mu);
    const double t = now_s();
    if (progress->stage >= 0) progress->took[size_t(progress->stage)] = t - progress->began[size_t(progress->stage)];
    progress->stage = index;
    progress->began[size_t(index)] = t;
  };
  cx_.log(fmt::format("building the demo workspace in {} ({} variant; `genlens demo` does the same)", dir,
                      demo_.variant));
  job_.start(cx_.jobs, "demo", progress, [d](runtime::JobContext& ctx) { demo::run_demo(ctx, d); });
  return true;
}

void DemoController::cancel() {
  if (job_.waiting()) cx_.jobs.cancel(job_.id());
}

std::string DemoController::poll() {
  if (!show_) return "";
  const auto polled = job_.poll(cx_.jobs);
  if (!polled) return "";
  const auto& s = *polled;
  auto& progress = *job_.result();
  int stage = -1;
  {
    std::lock_guard<std::mutex> lock(progress.mu);
    stage = progress.stage;
    for (size_t i = 0; i < demo_.stages.size(); ++i) {
      auto& row = demo_.stages[i];
      row.state = int(i) < stage ? views::DemoStageRow::Done
                  : int(i) == stage ? views::DemoStageRow::Running
                                    : views::DemoStageRow::Pending;
      // A stage reused from an earlier build passes in well under a second.
      row.seconds = progress.took[i] > 0.5 ? progress.took[i] : 0;
    }
  }
  demo_.overall = float(demo::overall_fraction(stage, s.stage, s.done, s.total));
  demo_.stage_fraction = s.total > 0 ? std::min(1.0f, float(s.done) / float(s.total)) : -1.0f;
  demo_.detail = s.stage;
  if (s.total > 0) demo_.detail += fmt::format("  {}/{} {}", s.done, s.total, s.unit);
  if (s.eta_s > 0) demo_.detail += fmt::format("  ETA {}", runtime::format_duration(s.eta_s));
  demo_.elapsed_s = s.elapsed_s;
  if (!s.finished()) return "";

  if (s.state == runtime::JobState::Done) {
    cx_.log(fmt::format("demo workspace ready after {}: opening it", runtime::format_duration(s.elapsed_s)));
    show_ = false;
    return dir_;
  }
  if (s.state == runtime::JobState::Cancelled) {
    demo_.cancelled = true;
    cx_.log("demo build cancelled; finished stages are kept");
  } else {
    demo_.error = s.error.empty() ? "the demo build failed" : s.error;
    cx_.log("demo build failed: " + demo_.error);
  }
  return "";
}

}  // namespace genlens::studio
