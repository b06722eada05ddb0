#include "core/runtime/metrics_log.h"

#include <cmath>

#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"

namespace genlens::runtime {

namespace fs = std::filesystem;

MetricsLog::MetricsLog(const fs::path& path)
    : path_(path), out_(std::make_unique<io::JsonlWriter>(path, io::JsonlWriter::Mode::Append)) {}

MetricsLog::~MetricsLog() = default;

void MetricsLog::write(int64_t step, const std::vector<std::pair<std::string, double>>& values) {
  nlohmann::ordered_json row = nlohmann::ordered_json::object();
  row["step"] = step;
  for (auto& [k, v] : values)
    row[k] = std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
  out_->write(row);
}

void MetricsLog::truncate_after_step(const fs::path& path, int64_t step) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  auto prefix = io::read_jsonl_complete(path);
  std::string kept;
  for (size_t i = 0; i < prefix.rows.size(); ++i) {
    auto& row = prefix.rows[i];
    auto it = row.find("step");
    if (it != row.end() && it->is_number_integer() && it->get<int64_t>() > step) continue;
    kept += prefix.lines[i];
    kept += '\n';
  }
  io::write_file_atomic(path, kept);
}

std::vector<MetricRow> MetricsLog::read(const fs::path& path) {
  std::vector<MetricRow> out;
  for (auto& row : io::read_jsonl_complete(path).rows) {
    MetricRow m;
    for (auto& [k, v] : row.items()) {
      if (k == "step" && v.is_number_integer()) m.step = v.get<int64_t>();
      else if (v.is_number()) m.values.emplace_back(k, v.get<double>());
      else if (v.is_null()) m.values.emplace_back(k, std::nan(""));
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace genlens::runtime
