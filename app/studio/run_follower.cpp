#include "app/studio/run_follower.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace genlens::studio {

namespace fs = std::filesystem;

void RunFollower::add_line(const std::string& line) {
  ++line_no_;
  if (line.find_first_not_of(" \t\r") == std::string::npos) return;
  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("step") || !j["step"].is_number()) {
    problem_ = fmt::format("{}:{}: not a metrics row (expected a JSON object with \"step\")",
                           (dir_ / "metrics.jsonl").string(), line_no_);
    return;
  }
  const double step = j["step"].get<double>();
  last_step_ = static_cast<int64_t>(step);
  for (auto& [k, v] : j.items()) {
    if (k == "step") continue;
    double x = v.is_number() ? v.get<double>() : NAN;  // null (non-finite) stays a gap
    auto it = series_.find(k);
    if (it == series_.end()) {
      keys_.push_back(k);
      it = series_.emplace(k, RunSeries{}).first;
    }
    // A resumed run rewrites from its checkpoint step: drop points at or after `step`.
    auto& s = it->second;
    while (!s.step.empty() && s.step.back() >= step) s.step.pop_back(), s.value.pop_back();
    s.step.push_back(step);
    s.value.push_back(x);
  }
}

bool RunFollower::poll() {
  if (dir_.empty()) return false;
  bool changed = false;
  std::error_code ec;
  const auto path = dir_ / "metrics.jsonl";
  auto size = fs::file_size(path, ec);
  if (!ec) {
    if (size < offset_) {  // truncated (resume): start over
      offset_ = 0;
      line_no_ = 0;
      partial_.clear();
      series_.clear();
      keys_.clear();
      changed = true;
    }
    if (size > offset_) {
      std::ifstream in(path, std::ios::binary);
      in.seekg(static_cast<std::streamoff>(offset_));
      std::string chunk(size - offset_, '\0');
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      chunk.resize(static_cast<size_t>(in.gcount()));
      offset_ += chunk.size();
      partial_ += chunk;
      size_t nl;
      while ((nl = partial_.find('\n')) != std::string::npos) {  // only whole lines
        add_line(partial_.substr(0, nl));
        partial_.erase(0, nl + 1);
      }
      changed = true;
    }
  }
  // Checkpoints and the planned step count.
  std::vector<std::pair<int64_t, std::string>> cps;
  for (auto& e : fs::directory_iterator(dir_, ec)) {
    auto name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("checkpoint-", 0) != 0) continue;
    auto digits = name.substr(11);
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
    cps.emplace_back(std::stoll(digits), name);
  }
  std::sort(cps.begin(), cps.end());
  std::vector<std::string> names;
  for (auto& [s, n] : cps) names.push_back(n);
  if (names != checkpoints_) {
    checkpoints_ = names;
    changed = true;
    if (!cps.empty()) {
      std::ifstream st(dir_ / cps.back().second / "trainer_state.json");
      auto j = nlohmann::json::parse(st, nullptr, false);
      if (j.is_object() && j.contains("settings") && j["settings"].contains("steps") &&
          j["settings"]["steps"].is_number_integer())
        planned_steps_ = j["settings"]["steps"].get<int64_t>();
    }
  }
  return changed;
}

}  // namespace genlens::studio
