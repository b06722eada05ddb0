// `genlens env`: what LibTorch sees on this machine.
#include <fmt/format.h>

#include "app/cli/command.h"
#include "core/runtime/env_info.h"

namespace genlens::cli {
namespace {

RunFn setup_env(CLI::App& sub) {
  return [] {
    auto e = runtime::probe_env();
    fmt::print("genlens      {}\n", e.genlens_version);
    fmt::print("libtorch     {}\n", e.torch_version);
    fmt::print("blas         {}{}\n", e.blas_library.empty() ? "(none mapped)" : e.blas_library,
               e.blas_is_reference ? "  [reference BLAS: fp32 matmul ~30x slower; install libopenblas0-pthread]" : "");
    if (!e.blas_core.empty()) fmt::print("blas kernels {}, chosen by {}\n", e.blas_core, e.blas_core_source);
    fmt::print("threads      intra-op {} ({}), inter-op {}\n", e.intra_op_threads, e.threads_source,
               e.inter_op_threads);
    if (e.blas_threads > 0) fmt::print("blas threads {} ({})\n", e.blas_threads, e.blas_threads_source);
    fmt::print("cores        {} usable (CPU affinity and cgroup quota)\n", e.usable_cores);
    fmt::print("devices     ");
    for (auto& d : e.devices) fmt::print(" {}", d);
    fmt::print("\n");
    return 0;
  };
}

RegisterCommand reg({"env", "Print LibTorch version, BLAS, threads and devices", setup_env, 1});

}  // namespace
}  // namespace genlens::cli
