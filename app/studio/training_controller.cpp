#include "app/studio/training_controller.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cmath>

#include "core/util/error.h"

namespace genlens::studio {

namespace fs = std::filesystem;
using views::RunState;

void TrainingController::follow_run(const std::string& dir) {
  follower_ = std::make_unique<RunFollower>(dir);
  train_.run_dir = dir;
  if (!train_.own_run || !cx_.jobs.active("train")) {
    train_.own_run = false;
    train_.state = RunState::Following;
  }
  // Nothing of the previously followed run carries over (a script waiting for step N
  // must see this run's steps, not the last one's).
  train_.metrics.clear();
  train_.checkpoints.clear();
  train_.step = 0;
  train_.probes.clear();
  probed_.clear();
  // The first read takes in everything already written (a finished run: all of it);
  // later polls only return true when something new arrived, so it is shown now.
  follower_->poll();
  absorb_follower();
}

void TrainingController::absorb_follower() {
  train_.metrics.clear();
  for (auto& k : follower_->key_order()) {
    auto& s = follower_->series().at(k);
    views::PlotSeries p;
    p.name = k;
    p.x = s.step;
    p.y = s.value;
    train_.metrics.push_back(std::move(p));
  }
  train_.checkpoints = follower_->checkpoints();
  if (!follower_->problem().empty()) train_.error = follower_->problem();
}

void TrainingController::set_form_model(const std::string& dir) {
  std::snprintf(train_state_.form.model, sizeof train_state_.form.model, "%s", views::display_path(dir).c_str());
}

void TrainingController::set_form_paths(const std::string& responses, const std::string& runs_dir) {
  auto& f = train_state_.form;
  if (!responses.empty()) std::snprintf(f.data, sizeof f.data, "%s", views::display_path(responses).c_str());
  if (!f.out[0]) std::snprintf(f.out, sizeof f.out, "%s", views::display_path(runs_dir).c_str());
}

bool TrainingController::set_field(const std::string& key, const std::string& value) {
  auto& f = train_state_.form;
  auto str = [&](char* buf, size_t n) { std::snprintf(buf, n, "%s", value.c_str()); };
  try {
    if (key == "model") str(f.model, sizeof f.model);
    else if (key == "data") str(f.data, sizeof f.data);
    else if (key == "out") str(f.out, sizeof f.out);
    else if (key == "teacher") str(f.teacher, sizeof f.teacher);
    else if (key == "device") str(f.device, sizeof f.device);
    else if (key == "steps") f.steps = std::stoi(value);
    else if (key == "batch") f.batch = std::stoi(value);
    else if (key == "thought") f.thought = std::stoi(value);
    else if (key == "compression") f.compression = std::stoi(value);
    else if (key == "save-every") f.save_every = std::stoi(value);
    else if (key == "warmup") f.warmup = std::stoi(value);
    else if (key == "lr") f.lr = std::stof(value);
    else return false;
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

std::vector<std::string> TrainingController::warnings() const {
  const auto& f = train_state_.form;
  return train_warnings(f.steps, f.warmup, f.lr);
}

std::string TrainingController::checkpoint_dir(int index) const {
  return (fs::path(train_.run_dir) / train_.checkpoints[size_t(index)]).string();
}

bool TrainingController::start(bool resume) {
  auto& f = train_state_.form;
  if (!f.model[0] || !f.data[0] || !f.out[0]) {
    train_.error = "The form needs a model, a data file and a run directory.";
    return false;
  }
  if (cx_.jobs.active("train")) return false;
  // The form shows paths as a person types them ("~/genlens-demo/runs/studio").
  const std::string model = views::expand_user(f.model), data = views::expand_user(f.data),
                    out = views::expand_user(f.out);
  std::vector<std::string> args = {cx_.cli_path, "train", "--model", model, "--data", data, "--out", out, "--steps",
                                   std::to_string(f.steps), "--warmup", std::to_string(f.warmup), "--batch-size",
                                   std::to_string(f.batch), "--lr", fmt::format("{}", f.lr), "--thought",
                                   std::to_string(f.thought), "--compression", std::to_string(f.compression),
                                   "--teacher", views::expand_user(f.teacher), "--save-every",
                                   std::to_string(f.save_every), "--device", f.device};
  if (resume) args.push_back("--resume");
  auto control = std::make_shared<ProcessControl>();
  run_.start(cx_.jobs, "train", control, [args, control](runtime::JobContext& ctx) {
    ctx.set_stage("train");
    auto r = run_process(args, ctx, control.get());
    if (r.exit_code != 0) fail("{}", last_error_line(r));
  });
  run_events_ = 0;
  offered_run_ = false;
  train_.error.clear();
  train_.log_tail.clear();
  follow_run(out);
  train_.state = RunState::Starting;
  train_.own_run = true;
  for (auto& w : train_.form_warnings) cx_.log("train: warning: " + w);
  cx_.log(fmt::format("train: {} ({} steps){}", out, f.steps, resume ? ", resuming" : ""));
  return true;
}

void TrainingController::stop() {
  if (!cx_.jobs.active("train")) return;
  cx_.jobs.cancel(run_.id());
  train_.state = RunState::Stopping;
  cx_.log("train: stopping at the next step (a checkpoint is saved)");
}

void TrainingController::pause(bool pause) {
  auto* control = run_.result();
  if (!cx_.jobs.active("train") || !control || control->pause == pause) return;
  control->pause = pause;
  cx_.log(pause ? "train: paused (the run's process is frozen where it stands; Continue picks it up)"
                : "train: continued");
}

std::string TrainingController::poll(int frame_no) {
  std::string offer;
  if (auto* j = run_.job(cx_.jobs)) {
    auto s = j->snapshot();
    for (auto& e : j->events_since(run_events_))
      if (e.kind == runtime::JobEvent::Kind::Log) {
        train_.log_tail.push_back(e.text);
        if (train_.log_tail.size() > 40) train_.log_tail.erase(train_.log_tail.begin());
      }
    const auto* control = run_.result();
    if (s.state == runtime::JobState::Running) {
      if (train_.state != RunState::Stopping)
        train_.state = control && control->stopped               ? RunState::Paused
                       : control && control->pause                ? RunState::Pausing
                       : follower_ && follower_->last_step() > 0  ? RunState::Running
                                                                  : RunState::Starting;
    } else if (s.state == runtime::JobState::Done) {
      train_.state = RunState::Done;
    } else if (s.state == runtime::JobState::Cancelled) {
      train_.state = RunState::Stopped;
    } else if (s.state == runtime::JobState::Failed) {
      train_.state = RunState::Failed;
      train_.error = s.error;
    }
    if (s.finished() && train_.state != RunState::Failed) train_.error.clear();
    // The run wrote an adapter the other tabs do not use yet: offer it (Workspace tab).
    if (s.finished() && !offered_run_ && follower_) {
      offered_run_ = true;
      follower_->poll();
      absorb_follower();
      std::error_code ec;
      const std::string out = fs::absolute(train_.run_dir, ec).lexically_normal().string();
      if (!follower_->checkpoints().empty() && cx_.open.adapter != out) {
        offer = out;
        cx_.log(fmt::format("train: the run wrote {}; Workspace tab: use it as the adapter",
                            follower_->checkpoints().back()));
      }
    }
  }
  follow_progress(frame_no);
  return offer;
}

void TrainingController::follow_progress(int frame_no) {
  // Tail the run's files a few times a second (cheap: only new bytes are read).
  if (follower_ && (frame_no % 6 == 0) && follower_->poll()) absorb_follower();
  if (!follower_) return;
  train_.step = follower_->last_step();
  train_.total_steps = train_.own_run ? train_state_.form.steps
                                      : std::max<int64_t>(follower_->planned_steps(), train_.step);
  // A followed run that reached its planned steps has finished (a resumed one goes on).
  if (!train_.own_run && (train_.state == RunState::Following || train_.state == RunState::Finished))
    train_.state = follower_->planned_steps() > 0 && train_.step >= follower_->planned_steps() ? RunState::Finished
                                                                                             : RunState::Following;
  train_.rate = 0;
  train_.eta_s = -1;
  auto it = follower_->series().find("step_s");
  if (it != follower_->series().end() && !it->second.value.empty()) {
    // Mean of the last 20 step times: steady enough for an ETA.
    const auto& v = it->second.value;
    double sum = 0;
    int n = 0;
    for (size_t i = v.size() > 20 ? v.size() - 20 : 0; i < v.size(); ++i)
      if (std::isfinite(v[i])) sum += v[i], ++n;
    if (n && sum > 0) {
      train_.rate = n / sum;
      train_.eta_s = double(std::max<int64_t>(0, train_.total_steps - train_.step)) / train_.rate;
    }
  }
}

RunLine TrainingController::run_line() const {
  RunLine r;
  r.step = train_.step;
  r.total_steps = train_.total_steps;
  r.state = train_.state;
  if (follower_ && !follower_->checkpoints().empty()) r.newest_checkpoint = follower_->checkpoints().back();
  return r;
}

std::optional<std::string> TrainingController::script_value(const std::string& key) const {
  auto series_points = [&](const char* name) {
    for (auto& p : train_.metrics)
      if (p.name == name) return std::to_string(p.x.size());
    return std::string("0");
  };
  if (key == "training-points") return series_points("loss");
  if (key == "checkpoints") return std::to_string(train_.checkpoints.size());
  if (key == "training-state") return std::string(views::to_string(train_.state));
  if (key == "train-warning") {
    std::string all;
    for (auto& w : warnings()) all += w + "\n";
    return all;
  }
  if (key == "probe") return std::string(train_state_.probe);
  if (key == "probe-done")  // every checkpoint of the followed run probed with the current query
    return std::string(!probe_query_.empty() && !probe_.waiting() && !train_.checkpoints.empty() &&
                               probed_.size() >= train_.checkpoints.size() && probe_query_ == train_state_.probe
                           ? "yes"
                           : "no");
  return std::nullopt;
}

}  // namespace genlens::studio
