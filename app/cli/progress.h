// The CLI face of a core Job: a progress bar with rate and ETA on stderr (redrawn in
// place on a terminal, a line every few seconds otherwise), the job's log lines, and
// Ctrl-C mapped to a cooperative cancel. --quiet prints nothing but errors.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "core/runtime/job.h"

namespace genlens::cli {

// Runs `job` to the end on its worker thread while drawing it. Returns kOk when done,
// kCancelled after Ctrl-C (SIGINT/SIGTERM); rethrows the job's error when it failed
// (run_cli prints it and exits with kFailure).
struct ProgressStyle {
  // Replaces the default line (stage, bar, rate, ETA) when set: e.g. one overall bar for
  // a multi-stage pipeline (`genlens demo`).
  std::function<std::string(const runtime::JobSnapshot&)> line;
  // On a terminal, leave each finished stage's bar on screen (false: one line redrawn).
  bool keep_stage_lines = true;
  // Which of the job's log lines to print (unset: all of them).
  std::function<bool(const std::string&)> show_log;
};
int run_job_cli(runtime::Job& job, bool quiet, const ProgressStyle& style = {});

// Adds a --quiet flag to a subcommand (`genlens train ... --quiet`); `genlens -q train`
// works too. Call quiet_requested at run time.
void add_quiet_flag(CLI::App& sub, bool& flag);
bool quiet_requested(const CLI::App& sub, bool local_flag);

}  // namespace genlens::cli
