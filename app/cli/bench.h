// `genlens bench <name>`: benchmarks register here (one file each, app/cli/bench_*.cpp)
// and print figures next to a baseline measured in the same run. Never pass/fail on time.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace genlens::cli {

struct BenchDef {
  std::string name;
  std::string help;
  std::function<std::function<int()>(CLI::App& sub)> setup;  // like CommandDef::setup
};

std::vector<BenchDef>& bench_registry();

struct RegisterBench {
  explicit RegisterBench(BenchDef def) { bench_registry().push_back(std::move(def)); }
};

}  // namespace genlens::cli
