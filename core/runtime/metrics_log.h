// metrics.jsonl (docs/ARCHITECTURE.md §6.4): one JSON object per logged step, appended and flushed
// per line, so a crash loses at most the line being written and the studio can tail it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/runtime/job.h"

namespace genlens::io {
class JsonlWriter;
}

namespace genlens::runtime {

class MetricsLog {
 public:
  // Opens `path` for appending (creates it). Resuming a run first drops what was logged
  // after the checkpoint it resumes from (see truncate_after_step).
  explicit MetricsLog(const std::filesystem::path& path);
  ~MetricsLog();
  // {"step": step, key: value, ...} in the order given. Non-finite values become null.
  void write(int64_t step, const std::vector<std::pair<std::string, double>>& values);
  void write(const MetricRow& row) { write(row.step, row.values); }
  const std::filesystem::path& path() const { return path_; }

  // Rewrites `path` atomically keeping only complete rows with step <= `step` (a
  // resumed run recomputes the steps after its checkpoint; a torn last line is dropped).
  static void truncate_after_step(const std::filesystem::path& path, int64_t step);
  // Reads a metrics.jsonl back (complete rows only), e.g. to plot a finished run.
  static std::vector<MetricRow> read(const std::filesystem::path& path);

 private:
  std::filesystem::path path_;
  std::unique_ptr<io::JsonlWriter> out_;
};

}  // namespace genlens::runtime
