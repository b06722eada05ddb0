#include "app/studio/job_host.h"

namespace genlens::studio {

int JobHost::start(const std::string& name, runtime::Job::Fn fn) {
  for (auto& e : jobs_)
    if (e.name == name && !e.job->snapshot().finished()) e.job->cancel();
  // Keep the list short: drop finished jobs beyond the newest 20.
  while (jobs_.size() > 20 && jobs_.front().job->snapshot().finished()) jobs_.pop_front();
  Entry e;
  e.id = next_id_++;
  e.name = name;
  e.job = std::make_unique<runtime::Job>(name, std::move(fn));
  e.job->start();
  jobs_.push_back(std::move(e));
  return jobs_.back().id;
}

runtime::Job* JobHost::find(int id) {
  for (auto& e : jobs_)
    if (e.id == id) return e.job.get();
  return nullptr;
}

runtime::Job* JobHost::latest(const std::string& name) {
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it)
    if (it->name == name) return it->job.get();
  return nullptr;
}

bool JobHost::active(const std::string& name) {
  for (auto& e : jobs_)
    if (e.name == name && !e.job->snapshot().finished()) return true;
  return false;
}

bool JobHost::any_active() {
  for (auto& e : jobs_)
    if (!e.job->snapshot().finished()) return true;
  return false;
}

void JobHost::cancel(int id) {
  if (auto* j = find(id)) j->cancel();
}

void JobHost::shutdown() {
  for (auto& e : jobs_) e.job->cancel();
  for (auto& e : jobs_) e.job->wait();
}

}  // namespace genlens::studio
