// What genlens-studio does on a machine without a display: a plain-text report of the
// demo workspace, printed to stdout. With build_if_missing (`genlens-studio --demo`)
// a missing workspace is built first (core/demo/pipeline.h), with a progress line.
#pragma once
#include <string>

namespace genlens::studio {

// What was asked of the studio on the command line, for the no-display message.
struct HeadlessRequest {
  std::string workspace, model, adapter, run, corpus, layout, script, screenshot, study;
  bool any() const {
    return !workspace.empty() || !model.empty() || !adapter.empty() || !run.empty() || !corpus.empty() ||
           !layout.empty() || !script.empty() || !screenshot.empty() || !study.empty();
  }
};

// No display, and the command line asked for something (a model, a corpus, a script...):
// says that no window can open, repeats what was asked, and prints the commands that do
// the same without a window (genlens lens / neighbors / encode + project, xvfb-run for
// scripts and screenshots). Returns the exit code: 2 (nothing was done).
int print_no_display(const HeadlessRequest& asked, const std::string& argv_tail);
int run_headless_report(bool build_if_missing = false, bool quick = false);
}
