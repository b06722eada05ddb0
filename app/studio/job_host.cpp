#include "app/studio/job_host.h"

#include <iterator>

namespace genlens::studio {

int JobHost::start(const std::string& name, runtime::Job::Fn fn) {
  for (auto& e : jobs_)
    if (e.name == name && !e.job->snapshot().finished()) e.job->cancel();
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

void JobHost::end_frame() {
  for (auto it = jobs_.begin(); it != jobs_.end() && jobs_.size() > 20;)
    it = it->finished_last_frame ? jobs_.erase(it) : std::next(it);
  for (auto& e : jobs_) e.finished_last_frame = e.job->snapshot().finished();
}

void JobHost::shutdown() {
  for (auto& e : jobs_) e.job->cancel();
  for (auto& e : jobs_) e.job->wait();
}

}  // namespace genlens::studio
