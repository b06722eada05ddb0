#include "core/runtime/job.h"

#include <fmt/format.h>

#include <cmath>

namespace genlens::runtime {

const char* to_string(JobState s) {
  switch (s) {
    case JobState::Pending: return "pending";
    case JobState::Running: return "running";
    case JobState::Done: return "done";
    case JobState::Failed: return "failed";
    case JobState::Cancelled: return "cancelled";
  }
  return "?";
}

double MetricRow::value_or(const std::string& key, double fallback) const {
  for (auto& [k, v] : values)
    if (k == key) return v;
  return fallback;
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  auto t = static_cast<int64_t>(std::llround(s));
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, static_cast<int>((t % 3600) / 60));
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, static_cast<int>(t % 60));
  return fmt::format("{}s", t);
}

// ---- JobContext -------------------------------------------------------------------

void JobContext::set_stage(const std::string& stage, int64_t total, const std::string& unit,
                           int64_t start_done) {
  std::lock_guard<std::mutex> lk(job_->mu_);
  if (job_->snap_.parts > 0 && job_->snap_.stage == job_->snap_.part_main_stage && stage != job_->snap_.stage)
    job_->snap_.part_main_done = true;
  job_->snap_.stage = stage;
  job_->snap_.total = total;
  job_->snap_.done = start_done;
  job_->snap_.unit = unit;
  job_->snap_.rate = 0;
  job_->snap_.eta_s = -1;
  job_->stage_t0_ = std::chrono::steady_clock::now();
  job_->stage_done0_ = start_done;
  JobEvent e;
  e.kind = JobEvent::Kind::Stage;
  e.text = stage;
  job_->push_event_locked(std::move(e));
}

void JobContext::set_part(int64_t part, int64_t parts, const std::string& label, const std::string& main_stage) {
  std::lock_guard<std::mutex> lk(job_->mu_);
  job_->snap_.part = part;
  job_->snap_.parts = parts;
  job_->snap_.part_label = label;
  job_->snap_.part_main_stage = main_stage;
  job_->snap_.part_main_done = false;
}

void JobContext::set_total(int64_t total) {
  std::lock_guard<std::mutex> lk(job_->mu_);
  job_->snap_.total = total;
}

void JobContext::set_done(int64_t done) {
  std::lock_guard<std::mutex> lk(job_->mu_);
  set_done_locked(done);
}

// Caller holds job_->mu_.
void JobContext::set_done_locked(int64_t done) {
  auto& s = job_->snap_;
  s.done = done;
  double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - job_->stage_t0_).count();
  int64_t progressed = s.done - job_->stage_done0_;
  if (dt > 0 && progressed > 0) {
    s.rate = progressed / dt;
    s.eta_s = s.total > 0 ? std::max<double>(0.0, (s.total - s.done) / s.rate) : -1;
  }
}

void JobContext::advance(int64_t n) {
  std::lock_guard<std::mutex> lk(job_->mu_);  // one lock: concurrent advances never lose a step
  set_done_locked(job_->snap_.done + n);
}

void JobContext::log(const std::string& line) {
  std::lock_guard<std::mutex> lk(job_->mu_);
  JobEvent e;
  e.kind = JobEvent::Kind::Log;
  e.text = line;
  job_->push_event_locked(std::move(e));
}

void JobContext::metrics(int64_t step, std::vector<std::pair<std::string, double>> values) {
  std::lock_guard<std::mutex> lk(job_->mu_);
  JobEvent e;
  e.kind = JobEvent::Kind::Metrics;
  e.metrics.step = step;
  e.metrics.values = std::move(values);
  job_->push_event_locked(std::move(e));
}

bool JobContext::cancelled() const { return job_->cancel_.load(); }

void JobContext::check_cancel() const {
  if (job_->cancel_.load()) throw Cancelled();
}

// ---- Job --------------------------------------------------------------------------

Job::Job(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {
  snap_.name = name_;
  t0_ = stage_t0_ = std::chrono::steady_clock::now();
}

Job::~Job() {
  cancel();
  join_thread();
}

// thread_ is only touched under thread_mu_, so a second joiner waits for the first and
// then finds nothing left to join (std::thread::join from two threads is undefined).
void Job::join_thread() {
  std::lock_guard<std::mutex> lk(thread_mu_);
  if (thread_.joinable()) thread_.join();
}

double Job::now_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

void Job::push_event_locked(JobEvent e) {
  e.time_s = now_s();
  events_.push_back(std::move(e));
}

bool Job::mark_started() {
  std::lock_guard<std::mutex> lk(mu_);
  if (started_) return false;
  started_ = true;
  snap_.state = JobState::Running;
  t0_ = stage_t0_ = std::chrono::steady_clock::now();
  return true;
}

void Job::start() {
  std::lock_guard<std::mutex> lk(thread_mu_);  // a joiner never sees thread_ half-assigned
  if (mark_started()) thread_ = std::thread([this] { body(); });
}

void Job::run_here() {
  if (mark_started()) body();
}

void Job::body() {
  JobContext ctx(this);
  JobState final_state = JobState::Done;
  std::string err;
  std::exception_ptr ep;
  try {
    fn_(ctx);
  } catch (const Cancelled&) {
    final_state = JobState::Cancelled;
    ep = std::current_exception();
  } catch (const std::exception& e) {
    final_state = JobState::Failed;
    err = e.what();
    ep = std::current_exception();
  } catch (...) {
    final_state = JobState::Failed;
    err = "unknown error";
    ep = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    snap_.state = final_state;
    snap_.error = err;
    snap_.elapsed_s = now_s();
    error_ = ep;
  }
  cv_.notify_all();
}

void Job::cancel() { cancel_.store(true); }

void Job::wait() {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [this] { return snap_.finished() || !started_; });
  lk.unlock();
  join_thread();
}

bool Job::wait_for(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lk(mu_);
  bool fin = cv_.wait_for(lk, d, [this] { return snap_.finished(); });
  lk.unlock();
  if (fin) join_thread();
  return fin;
}

double JobSnapshot::overall_fraction() const {
  if (state == JobState::Done) return 1.0;
  const double frac = total > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 0.0;
  if (parts <= 0) return frac;
  const double in_part = part_main_done ? 1.0 : stage == part_main_stage ? frac : 0.0;
  return std::min(1.0, (static_cast<double>(std::max<int64_t>(part, 1) - 1) + in_part) / static_cast<double>(parts));
}

JobSnapshot Job::snapshot() const {
  std::lock_guard<std::mutex> lk(mu_);
  JobSnapshot s = snap_;
  if (!s.finished() && started_) s.elapsed_s = now_s();
  return s;
}

std::vector<JobEvent> Job::events_since(size_t& cursor) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<JobEvent> out;
  if (cursor < events_.size()) out.assign(events_.begin() + static_cast<std::ptrdiff_t>(cursor), events_.end());
  cursor = events_.size();
  return out;
}

void Job::rethrow_if_failed() const {
  std::exception_ptr ep;
  {
    std::lock_guard<std::mutex> lk(mu_);
    ep = error_;
  }
  if (ep) std::rethrow_exception(ep);
}

}  // namespace genlens::runtime
