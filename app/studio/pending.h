// One feature's job and the result it fills in, as every studio controller uses them:
// start() runs the work on the job host with a fresh result object (a job replaced by a
// newer request keeps writing into its own, dropped one), poll() hands the UI thread the
// job's snapshot each frame and, once it has finished, takes the job in. Until then the
// job counts as waiting, so a script that waits for it sees its results on screen.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "app/studio/job_host.h"

namespace genlens::studio {

// "cancelled", or the job's error ("failed" when it gave none).
inline std::string job_error(const runtime::JobSnapshot& s) {
  if (s.state == runtime::JobState::Cancelled) return "cancelled";
  return s.error.empty() ? "failed" : s.error;
}

// "stage: done of total unit" for a running job that reports its progress ("" when it
// reports none), the status line a feature shows while it waits.
inline std::string progress_text(const runtime::JobSnapshot& s) {
  if (s.total <= 0) return "";
  return s.stage + ": " + std::to_string(s.done) + " of " + std::to_string(s.total) + (s.unit.empty() ? "" : " " + s.unit);
}

template <class T>
class Pending {
 public:
  // Runs `fn` as job `name`; `result` is what it writes into (shared with the job).
  void start(JobHost& jobs, const std::string& name, std::shared_ptr<T> result, runtime::Job::Fn fn) {
    result_ = std::move(result);
    id_ = jobs.start(name, std::move(fn));
  }
  // Started and not yet taken in (0 = none).
  int id() const { return id_; }
  bool waiting() const { return id_ != 0; }
  // The waiting job's snapshot (none when nothing waits, or the host no longer has it).
  std::optional<runtime::JobSnapshot> snapshot(JobHost& jobs) const {
    if (!id_) return std::nullopt;
    auto* j = jobs.find(id_);
    if (!j) return std::nullopt;
    return j->snapshot();
  }
  // As snapshot(); a finished job is taken in (waiting() is false afterwards).
  std::optional<runtime::JobSnapshot> poll(JobHost& jobs) {
    auto s = snapshot(jobs);
    if (s && s->finished()) id_ = 0;
    return s;
  }
  // Each frame: the job's snapshot once it has finished (then taken in); while it runs,
  // `on_progress` hears progress_text when the job reports any. nullopt: nothing to take.
  template <class F>
  std::optional<runtime::JobSnapshot> finished(JobHost& jobs, F&& on_progress) {
    auto s = poll(jobs);
    if (!s) return std::nullopt;
    if (!s->finished()) {
      if (auto p = progress_text(*s); !p.empty()) on_progress(p);
      return std::nullopt;
    }
    return s;
  }
  runtime::Job* job(JobHost& jobs) const { return id_ ? jobs.find(id_) : nullptr; }
  T* result() const { return result_.get(); }
  const std::shared_ptr<T>& shared() const { return result_; }
  // A newer request replaces this one: its job is no longer waited for.
  void forget() { id_ = 0; }
  void drop_result() { result_.reset(); }

 private:
  int id_ = 0;
  std::shared_ptr<T> result_;
};

}  // namespace genlens::studio
