#include "app/cli/command.h"

#include "core/runtime/env_info.h"

#include <fmt/format.h>

#include "app/cli/model_args.h"
#include "app/cli/progress.h"
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
    pending_model_inputs().clear();
    RunFn run = d.setup(*sub);
    // Options naming model directories (model_args.h): Hugging Face ids resolved before the
    // command runs, in one place for every command.
    if (!pending_model_inputs().empty()) {
      auto inputs = std::move(pending_model_inputs());
      pending_model_inputs().clear();
      run = [run = std::move(run), inputs = std::move(inputs), sub] {
        const auto* own = sub->get_option_no_throw("--quiet");
        const bool quiet = quiet_requested(*sub, own && own->count() > 0) || dist::world_from_env().rank > 0;
        for (auto& in : inputs) {
          if (in.option->count() == 0) continue;
          for (auto& loc : in.resolve())
            if (loc.from_hf_cache() && !quiet)
              fmt::print(stderr, "{} {}\n", in.option->get_name(), loc.describe());
        }
        return run();
      };
    }
    cli.commands.emplace_back(sub, std::move(run));
    cli.distributed.push_back(d.distributed);
  }
}

namespace {

// What to do about a missing option that people often do not have at hand yet.
const char* required_hint(const std::string& option) {
  if (option == "--adapter")
    return "An adapter is what `genlens train --out RUN` writes: give RUN (its newest checkpoint) or "
           "RUN/checkpoint-N; `genlens demo --out WS` makes one in WS/run.";
  if (option == "--model")
    return "A model is a directory in Hugging Face layout (config.json, *.safetensors, tokenizer.json or "
           "tokenizer.model); `genlens demo --out WS` makes a tiny one in WS/model.";
  return nullptr;
}

}  // namespace

std::string required_option_message(const Cli& cli, const std::string& what) {
  // CLI11 says "--adapter is required"; say which command, what the option is, and what to do.
  static const std::string kTail = " is required";
  if (what.size() <= kTail.size() || what.compare(what.size() - kTail.size(), kTail.size(), kTail) != 0) return {};
  const std::string name = what.substr(0, what.size() - kTail.size());
  for (const auto& [sub, run] : cli.commands) {
    if (!sub->parsed()) continue;
    const CLI::Option* opt = sub->get_option_no_throw(name);
    if (!opt) return {};
    std::string msg =
        fmt::format("genlens {}: error: {} is required ({})", sub->get_name(), name, opt->get_description());
    if (const char* hint = required_hint(name)) msg += fmt::format("\n  {}", hint);
    return msg + fmt::format("\nRun `genlens {} --help` for every option.", sub->get_name());
  }
  return {};
}

int run_cli(int argc, const char* const* argv) {
  runtime::tune_for_tensors(runtime::ThreadRole::Command);
  Cli cli;
  build_cli(cli);
  // The default pools are chosen in runtime::choose_threads (env_info.h, with the figures).
  int threads = 0;
  cli.app.add_option("--threads", threads,
                     "LibTorch's and OpenBLAS's threads for any command (default: genlens's choice, which "
                     "OMP_NUM_THREADS and OPENBLAS_NUM_THREADS override; `genlens env` shows it and why)")
      ->check(CLI::NonNegativeNumber);
  try {
    cli.app.parse(argc, argv);
  } catch (const CLI::RequiredError& e) {
    if (auto msg = required_option_message(cli, e.what()); !msg.empty()) {
      fmt::print(stderr, "{}\n", msg);
      return kUsage;
    }
    return cli.app.exit(e) == 0 ? kOk : kUsage;
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
