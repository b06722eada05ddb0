// What the machine offers LibTorch: version, BLAS in use, threads, devices.
#pragma once
#include <string>
#include <vector>

namespace genlens::runtime {

struct EnvInfo {
  std::string genlens_version;
  std::string torch_version;
  std::string blas_library;      // resolved path of the libblas actually loaded
  bool blas_is_reference = false;  // true when the slow reference BLAS is in use
  int intra_op_threads = 0;
  int inter_op_threads = 0;
  std::vector<std::string> devices;  // "cpu", "cuda:0 (NVIDIA H100 ...)", ...
};

EnvInfo probe_env();

// Gives OpenBLAS's own thread pool as many threads as LibTorch's intra-op pool (unless
// OPENBLAS_NUM_THREADS or OMP_NUM_THREADS says otherwise). OpenBLAS starts one thread
// per core; with LibTorch on one thread its idle workers spin on the other core: a
// quick demo run spent 42 s of 135 s in the kernel that way, 7 s of 86 s after this.
// Returns the count set, or 0 when no OpenBLAS is loaded (or the environment decides).
int match_blas_threads();

}  // namespace genlens::runtime
