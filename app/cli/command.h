// Subcommand registry for the `genlens` CLI. Each subcommand lives in its own file in
// app/cli/ and registers itself with a static RegisterCommand; main.cpp only builds
// the CLI11 app from the registry. A setup function adds the subcommand's options
// (stored in state it owns) and returns the function that runs it.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "app/cli/model_args.h"  // add_model_option: --model DIR or a Hugging Face id

namespace genlens::cli {

using RunFn = std::function<int()>;
using SetupFn = std::function<RunFn(CLI::App& sub)>;

struct CommandDef {
  std::string name;
  std::string help;
  SetupFn setup;
  int order = 100;  // position in --help (lower first)
  // Runs as one rank of a multi-process world (core/dist: RANK/WORLD_SIZE or srun).
  // Other commands refuse to start under such a launch instead of running N times.
  bool distributed = false;
};

std::vector<CommandDef>& command_registry();

struct RegisterCommand {
  explicit RegisterCommand(CommandDef def) { command_registry().push_back(std::move(def)); }
};

// Exit codes that mean something to scripts.
enum ExitCode : int {
  kOk = 0,
  kFailure = 1,      // the work failed (genlens::Error): bad input, corrupt file, ...
  kUsage = 2,        // command line could not be parsed
  kCancelled = 130,  // interrupted (SIGINT)
};

// Builds the whole CLI (used by main and by the CLI parsing tests).
// Returns the app and fills `run` with the chosen subcommand's function after parse.
struct Cli {
  CLI::App app{"genlens: a lab for generative embeddings (LLM2Vec-Gen)", "genlens"};
  std::vector<std::pair<CLI::App*, RunFn>> commands;
  std::vector<bool> distributed;  // per command, as CommandDef::distributed
  bool quiet = false;
};
void build_cli(Cli& cli);

// For counts and sizes (--batch-size, --max-length, --top-k, ...): a whole number >= 1,
// with a message a person can read ("--batch-size: must be a whole number >= 1, found 0").
inline const CLI::Validator kAtLeastOne(
    [](std::string& in) -> std::string {
      try {
        size_t used = 0;
        const long long v = std::stoll(in, &used);
        if (used == in.size() && v >= 1) return {};
      } catch (const std::exception&) {
      }
      return "must be a whole number >= 1, found " + in;
    },
    "");
// The message for CLI11's "--X is required" (`what`) after a parse of `cli`: the command,
// the option's help and, for options people often lack (--adapter, --model), where to get
// one. "" when `what` is not such an error.
std::string required_option_message(const Cli& cli, const std::string& what);
// Parses argv and runs the chosen subcommand; prints errors; returns the exit code.
int run_cli(int argc, const char* const* argv);

}  // namespace genlens::cli
