// `genlens-studio --demo` on a machine without the demo workspace: the same pipeline
// as `genlens demo` (core/demo/pipeline.h) as a job, its progress drawn by
// views/demo_build_view, and the workspace opened when it finishes.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <mutex>

#include "app/studio/studio_app.h"
#include "core/demo/pipeline.h"

namespace genlens::studio {

namespace fs = std::filesystem;

// Written by the job's thread (on_stage), read by the UI thread.
struct StudioApp::DemoProgress {
  std::mutex mu;
  int stage = -1;
  std::vector<double> began;  // steady seconds when each stage began (-1: not yet)
  std::vector<double> took;   // seconds each finished stage took
};

namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

void StudioApp::build_demo(const std::string& dir, bool quick) {
  if (demo::demo_report_exists(dir)) {
    open(views::OpenKind::Workspace, dir);
    return;
  }
  const auto& names = demo::demo_stage_names();
  demo_dir_ = dir;
  demo_quick_ = quick;
  demo_show_ = true;
  demo_progress_ = std::make_shared<DemoProgress>();
  demo_progress_->began.assign(names.size(), -1);
  demo_progress_->took.assign(names.size(), 0);
  demo_ = {};
  demo_.workspace = dir;
  demo_.variant = quick ? "quick" : "default";
  for (auto& n : names) demo_.stages.push_back({n, views::DemoStageRow::Pending, 0});

  demo::DemoOptions d;
  d.workspace = dir;
  d.quick = quick;
  auto progress = demo_progress_;
  d.on_stage = [progress](int index, const std::string&) {
    std::lock_guard<std::mutex> lock(progress->mu);
    const double t = now_s();
    if (progress->stage >= 0) progress->took[size_t(progress->stage)] = t - progress->began[size_t(progress->stage)];
    progress->stage = index;
    progress->began[size_t(index)] = t;
  };
  log(fmt::format("building the demo workspace in {} ({} variant; `genlens demo` does the same)", dir,
                  demo_.variant));
  demo_job_ = jobs_.start("demo", [d](runtime::JobContext& ctx) { demo::run_demo(ctx, d); });
}

void StudioApp::poll_demo() {
  if (!demo_show_ || !demo_job_) return;
  auto* job = jobs_.find(demo_job_);
  if (!job) return;
  const auto s = job->snapshot();
  int stage = -1;
  {
    std::lock_guard<std::mutex> lock(demo_progress_->mu);
    stage = demo_progress_->stage;
    for (size_t i = 0; i < demo_.stages.size(); ++i) {
      auto& row = demo_.stages[i];
      row.state = int(i) < stage ? views::DemoStageRow::Done
                  : int(i) == stage ? views::DemoStageRow::Running
                                    : views::DemoStageRow::Pending;
      // A stage reused from an earlier build passes in well under a second.
      row.seconds = demo_progress_->took[i] > 0.5 ? demo_progress_->took[i] : 0;
    }
  }
  demo_.overall = float(demo::overall_fraction(stage, s.stage, s.done, s.total));
  demo_.stage_fraction = s.total > 0 ? std::min(1.0f, float(s.done) / float(s.total)) : -1.0f;
  demo_.detail = s.stage;
  if (s.total > 0) demo_.detail += fmt::format("  {}/{} {}", s.done, s.total, s.unit);
  if (s.eta_s > 0) demo_.detail += fmt::format("  ETA {}", runtime::format_duration(s.eta_s));
  demo_.elapsed_s = s.elapsed_s;
  if (!s.finished()) return;

  demo_job_ = 0;
  if (s.state == runtime::JobState::Done) {
    log(fmt::format("demo workspace ready after {}: opening it", runtime::format_duration(s.elapsed_s)));
    demo_show_ = false;
    open(views::OpenKind::Workspace, demo_dir_);
    show(Tab::Map);
  } else if (s.state == runtime::JobState::Cancelled) {
    demo_.cancelled = true;
    log("demo build cancelled; finished stages are kept");
  } else {
    demo_.error = s.error.empty() ? "the demo build failed" : s.error;
    log("demo build failed: " + demo_.error);
  }
}

}  // namespace genlens::studio
