// Runs a child process (argv, no shell) inside a Job: its stdout is captured, its stderr
// lines become job log lines, and cancelling the job sends SIGINT (genlens commands save
// a checkpoint on Ctrl-C) and, if it has not exited 20 s later, SIGKILL. A run can be
// paused: the child is stopped (SIGSTOP) where it stands, keeping its memory and state,
// and continued (SIGCONT) later with nothing lost or recomputed.
#pragma once
#include <atomic>
#include <string>
#include <vector>

#include "core/runtime/job.h"

namespace genlens::studio {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;     // stdout
  std::string err;     // stderr (also streamed to the job log)
};

// Shared by the UI (which sets `pause`) and the job running the child (which applies it
// within 50 ms and reports it in `stopped`).
struct ProcessControl {
  std::atomic<bool> pause{false};    // requested
  std::atomic<bool> stopped{false};  // the child is stopped now
};

// Throws genlens::Error when the program cannot start; never throws on a non-zero exit.
// On cancel: interrupts the child (continuing it first when it is paused, so it can save
// its checkpoint), waits for it, then throws runtime::Cancelled.
ProcessResult run_process(const std::vector<std::string>& argv, runtime::JobContext& ctx,
                          ProcessControl* control = nullptr);

// The last non-empty stderr line (genlens prints its error message there), for the UI.
std::string last_error_line(const ProcessResult& r);

}  // namespace genlens::studio
