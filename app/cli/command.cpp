#include "app/cli/command.h"

#include "core/runtime/env_info.h"

#include <fmt/format.h>

#include "core/dist/world.h"
#include "core/util/error.h"

namespace genlens::cli {

std::vector<CommandDef>& command_registry() {
  static std::vector<CommandDef> registry;
  return registry;
}

void build_cli(Cli& cli) {
  cli.app.set_version_flag("--version", std::string("genlens ") + GENLENS_VERSION);
  cli.app.require_subcommand(0, 1);
  cli.app.add_flag("-q,--quiet", cli.quiet, "Print only results and errors");
  auto defs = command_registry();
  std::stable_sort(defs.begin(), defs.end(),
                   [](const CommandDef& a, const CommandDef& b) { return a.order < b.order; });
  for (auto& d : defs) {
    CLI::App* sub = cli.app.add_subcommand(d.name, d.help);
    cli.commands.emplace_back(sub, d.setup(*sub));
    cli.distributed.push_back(d.distributed);
  }
}

int run_cli(int argc, const char* const* argv) {
  runtime::tune_allocator();
  runtime::match_blas_threads();
  Cli cli;
  build_cli(cli);
  // One intra-op thread is what LibTorch picks on the 2-core machines this was measured
  // on, and what won there (env_info.h: the demo ran 2.2x slower on 2); bigger models on
  // more cores may want more: `genlens --threads N COMMAND` or OMP_NUM_THREADS.
  int threads = 0;
  cli.app.add_option("--threads", threads,
                     "LibTorch intra-op threads for any command (default: LibTorch's choice, which honours "
                     "OMP_NUM_THREADS; `genlens env` shows it)")
      ->check(CLI::NonNegativeNumber);
  try {
    cli.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.app.exit(e) == 0 ? kOk : kUsage;
  }
  if (threads > 0) runtime::set_threads(threads);
  for (size_t i = 0; i < cli.commands.size(); ++i) {
    auto& [sub, run] = cli.commands[i];
    if (sub->parsed()) {
      try {
        const auto world = dist::world_from_env();
        if (world.distributed() && !cli.distributed[i])
          fail("this is rank {} of {} ({} launch), but `genlens {}` does not run distributed (train, encode, "
               "generate and latent-index do); run it as one process",
               world.rank, world.world_size, world.source, sub->get_name());
        return run();
      } catch (const genlens::Error& e) {
        fmt::print(stderr, "genlens {}: error: {}\n", sub->get_name(), e.what());
        return kFailure;
      } catch (const std::exception& e) {
        fmt::print(stderr, "genlens {}: internal error: {}\n", sub->get_name(), e.what());
        return kFailure;
      }
    }
  }
  fmt::print("{}", cli.app.help());
  return kOk;
}

}  // namespace genlens::cli
