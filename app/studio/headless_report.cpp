#include "app/studio/headless_report.h"

#include <fmt/format.h>

#include "core/runtime/env_info.h"

namespace genlens::studio {

int run_headless_report() {
  auto e = runtime::probe_env();
  fmt::print("== genlens demo report ==\n");
  fmt::print("genlens {} | LibTorch {} | BLAS {} | {} threads\n", e.genlens_version, e.torch_version,
             e.blas_library.empty() ? "(none)" : e.blas_library, e.intra_op_threads);
  // The demo world (a tiny LM trained in-process, then adapter training, logit lens and
  // decoding) is not built yet; until it lands the report covers the environment only.
  fmt::print("demo workspace: not available in this build (environment report only)\n");
  return 0;
}

}  // namespace genlens::studio
