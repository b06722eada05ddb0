// What genlens-studio does on a machine without a display: a plain-text report of the
// demo workspace, printed to stdout. With build_if_missing (`genlens-studio --demo`)
// a missing workspace is built first (core/demo/pipeline.h), with a progress line.
#pragma once

namespace genlens::studio {
int run_headless_report(bool build_if_missing = false, bool quick = false);
}
