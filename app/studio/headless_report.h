// What genlens-studio does on a machine without a display: a plain-text report of the
// demo workspace, printed to stdout.
#pragma once

namespace genlens::studio {
int run_headless_report();
}
