// The studio's job host: starts runtime::Jobs on worker threads, keeps them (and their
// event cursors) by name, and lets the UI poll snapshots every frame. The UI thread
// never waits on a job; only shutdown waits (after cancelling everything).
#pragma once
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/runtime/job.h"

namespace genlens::studio {

class JobHost {
 public:
  struct Entry {
    int id = 0;
    std::string name;  // "train", "tokenize", "answer", ...
    std::unique_ptr<runtime::Job> job;
    bool finished_last_frame = false;  // already finished when the last frame ended
  };
  ~JobHost() { shutdown(); }

  // Starts `fn` as job `name`; a running job of the same name is cancelled first (the
  // newest request wins, e.g. a new query while the last one still runs).
  int start(const std::string& name, runtime::Job::Fn fn);
  runtime::Job* find(int id);
  runtime::Job* latest(const std::string& name);  // newest job with this name
  bool active(const std::string& name);           // a job with this name still runs
  bool any_active();
  void cancel(int id);
  // Once a frame, after every feature has polled: drops finished jobs beyond the newest
  // 20, but only those that had already finished when the previous frame ended, so every
  // feature has polled each job at least once after it finished (a job dropped sooner
  // would leave its feature waiting for a result that is gone).
  void end_frame();
  const std::deque<Entry>& entries() const { return jobs_; }
  // Cancels every job and waits for them (window closing: a training run checkpoints).
  void shutdown();

 private:
  std::deque<Entry> jobs_;  // newest last; finished jobs stay for the job list
  int next_id_ = 1;
};

}  // namespace genlens::studio
