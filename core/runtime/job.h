// Long work is a Job (docs/ARCHITECTURE.md §9): a function run on a worker thread that reports
// progress (done/total, ETA), checks a cooperative cancel flag, and publishes an event
// stream (log lines, metrics rows). Consumers -- the CLI progress bar, the studio's
// panels -- poll plain snapshots (numbers, strings, vectors); no torch types cross here.
//
//   runtime::Job job("train", [&](runtime::JobContext& ctx) {
//     ctx.set_total(steps);
//     for (...) { ctx.check_cancel(); ...; ctx.metrics(step, {{"loss", l}}); ctx.advance(); }
//   });
//   job.start();
//   while (!job.wait_for(100ms)) draw(job.snapshot(), job.events_since(cursor));
//   job.rethrow_if_failed();
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace genlens::runtime {

// Thrown by JobContext::check_cancel(); the Job records state Cancelled, not Failed.
struct Cancelled : std::exception {
  const char* what() const noexcept override { return "cancelled"; }
};

enum class JobState { Pending, Running, Done, Failed, Cancelled };
const char* to_string(JobState s);

struct MetricRow {
  int64_t step = 0;
  std::vector<std::pair<std::string, double>> values;  // in the order they were logged
  double value_or(const std::string& key, double fallback) const;
};

struct JobEvent {
  enum class Kind { Log, Metrics, Stage };
  Kind kind = Kind::Log;
  double time_s = 0;     // seconds since the job started
  std::string text;      // Log: the line; Stage: the new stage name
  MetricRow metrics;     // Metrics only
};

struct JobSnapshot {
  std::string name;
  JobState state = JobState::Pending;
  std::string stage;       // what the job is doing now ("tokenize", "train", ...)
  int64_t done = 0;        // progress within the current stage
  int64_t total = 0;       // 0 = unknown
  std::string unit;        // "steps", "rows", ...
  double elapsed_s = 0;    // since start
  double rate = 0;         // units per second within the current stage (0 = unknown)
  double eta_s = -1;       // seconds left in the current stage (-1 = unknown)
  std::string error;       // Failed: the message
  // A job made of several parts, each with its own stages (a study's runs): part 1-based
  // of parts (0 = not in parts), what the part is, and the stage that stands for the
  // part's progress (a run's "train": the other stages are short).
  int64_t part = 0, parts = 0;
  std::string part_label, part_main_stage;
  bool part_main_done = false;  // the main stage of this part has finished
  // Overall progress in [0, 1]: parts done plus the current part's main-stage fraction;
  // without parts, the current stage's fraction (0 when its total is unknown). Never
  // goes back while a part's other stages run.
  double overall_fraction() const;
  bool finished() const {
    return state == JobState::Done || state == JobState::Failed || state == JobState::Cancelled;
  }
};

class Job;

// What the work function sees. All methods are thread-safe.
class JobContext {
 public:
  // Starts a new stage: resets done/total and the rate clock. `start_done` is progress
  // already made before this run (a resumed run): it counts as done, not as speed.
  void set_stage(const std::string& stage, int64_t total = 0, const std::string& unit = "",
                 int64_t start_done = 0);
  void set_total(int64_t total);
  // Enters part `part` (1-based) of `parts`; the stages that follow belong to it, and
  // `main_stage`'s progress is the part's progress.
  void set_part(int64_t part, int64_t parts, const std::string& label, const std::string& main_stage);
  void advance(int64_t n = 1);
  void set_done(int64_t done);
  void log(const std::string& line);
  void metrics(int64_t step, std::vector<std::pair<std::string, double>> values);
  bool cancelled() const;
  void check_cancel() const;  // throws runtime::Cancelled when cancel was requested

 private:
  friend class Job;
  explicit JobContext(Job* job) : job_(job) {}
  void set_done_locked(int64_t done);
  Job* job_;
};

class Job {
 public:
  using Fn = std::function<void(JobContext&)>;
  Job(std::string name, Fn fn);
  ~Job();  // requests cancel and joins
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  void start();                 // launches the worker thread (once)
  void run_here();              // runs on the calling thread instead (tests, scripts)
  void cancel();                // cooperative: the work stops at its next check
  // wait(), wait_for() and the destructor may run on several threads at once (the
  // studio's UI polls while its job host shuts down): the worker is joined exactly once.
  void wait();
  bool wait_for(std::chrono::milliseconds d);  // true when finished

  JobSnapshot snapshot() const;
  // Events from `cursor` on; advances `cursor`. The job keeps every event (training
  // logs a few thousand rows at most), so several consumers can read independently.
  std::vector<JobEvent> events_since(size_t& cursor) const;
  // After wait(): rethrows the work's exception if it failed (Cancelled if cancelled).
  void rethrow_if_failed() const;

 private:
  friend class JobContext;
  void body();
  bool mark_started();                 // false when already started
  void push_event_locked(JobEvent e);  // stamps the time; caller holds mu_
  void join_thread();                  // joins the worker once; safe from any thread
  double now_s() const;

  std::string name_;
  Fn fn_;
  std::mutex thread_mu_;  // guards thread_: assigned in start(), joined in join_thread()
  std::thread thread_;
  std::atomic<bool> cancel_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  JobSnapshot snap_;
  std::vector<JobEvent> events_;
  std::exception_ptr error_;
  std::chrono::steady_clock::time_point t0_, stage_t0_;
  int64_t stage_done0_ = 0;  // progress when the rate clock (re)started
  bool started_ = false;
};

// Formats seconds as "1h02m", "3m05s", "12s" (for progress bars and logs).
std::string format_duration(double seconds);

}  // namespace genlens::runtime
