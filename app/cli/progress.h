// The CLI face of a core Job: a progress bar with rate and ETA on stderr (redrawn in
// place on a terminal, a line every few seconds otherwise), the job's log lines, and
// Ctrl-C mapped to a cooperative cancel. --quiet prints nothing but errors.
#pragma once
#include <CLI/CLI.hpp>

#include "core/runtime/job.h"

namespace genlens::cli {

// Runs `job` to the end on its worker thread while drawing it. Returns kOk when done,
// kCancelled after Ctrl-C (SIGINT/SIGTERM); rethrows the job's error when it failed
// (run_cli prints it and exits with kFailure).
int run_job_cli(runtime::Job& job, bool quiet);

// Adds a --quiet flag to a subcommand (`genlens train ... --quiet`); `genlens -q train`
// works too. Call quiet_requested at run time.
void add_quiet_flag(CLI::App& sub, bool& flag);
bool quiet_requested(const CLI::App& sub, bool local_flag);

}  // namespace genlens::cli
