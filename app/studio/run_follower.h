// Follows a training run directory written by any `genlens train` (here or on another
// machine over a shared file system): tails metrics.jsonl from the last byte read
// (whole lines only; a file that shrank -- a resumed run truncates it -- is reread),
// lists checkpoint-<step>/ directories and reads the planned step count from the newest
// trainer_state.json. Cheap enough to poll every few frames; never blocks on a writer.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace genlens::studio {

struct RunSeries {
  std::vector<double> step, value;
};

class RunFollower {
 public:
  explicit RunFollower(std::filesystem::path dir = {}) : dir_(std::move(dir)) {}
  const std::filesystem::path& dir() const { return dir_; }
  // Reads what was appended since the last poll; returns true when anything changed.
  bool poll();
  const std::map<std::string, RunSeries>& series() const { return series_; }
  const std::vector<std::string>& key_order() const { return keys_; }
  int64_t last_step() const { return last_step_; }
  int64_t planned_steps() const { return planned_steps_; }  // 0 = unknown
  const std::vector<std::string>& checkpoints() const { return checkpoints_; }  // names, oldest first
  const std::string& problem() const { return problem_; }  // e.g. "metrics.jsonl:7: not JSON"

 private:
  void add_line(const std::string& line);
  std::filesystem::path dir_;
  uint64_t offset_ = 0;
  int64_t line_no_ = 0;
  std::string partial_;
  std::map<std::string, RunSeries> series_;
  std::vector<std::string> keys_;
  int64_t last_step_ = 0, planned_steps_ = 0;
  std::vector<std::string> checkpoints_;
  std::string problem_;
};

}  // namespace genlens::studio
