// `genlens bench NAME ...`: runs one registered benchmark (see bench.h).
#include "app/cli/bench.h"
#include "app/cli/command.h"

namespace genlens::cli {

std::vector<BenchDef>& bench_registry() {
  static std::vector<BenchDef> registry;
  return registry;
}

namespace {

RunFn setup_bench(CLI::App& sub) {
  sub.require_subcommand(1);
  auto runs = std::make_shared<std::vector<std::pair<CLI::App*, std::function<int()>>>>();
  for (auto& b : bench_registry()) {
    CLI::App* s = sub.add_subcommand(b.name, b.help);
    runs->emplace_back(s, b.setup(*s));
  }
  return [runs] {
    for (auto& [s, run] : *runs)
      if (s->parsed()) return run();
    return 2;
  };
}

RegisterCommand reg({"bench", "Run a benchmark and print figures against a same-run baseline",
                     setup_bench, 90});

}  // namespace
}  // namespace genlens::cli
