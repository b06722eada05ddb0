#include "core/runtime/env_info.h"

#include <malloc.h>

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>

#include <torch/torch.h>
#include <ATen/Parallel.h>

#include <fstream>
#include <sstream>

namespace genlens::runtime {

namespace {
bool g_threads_flag = false;  // set_threads() was called (--threads)

// The BLAS LibTorch calls is whichever libblas.so.3 the dynamic loader mapped;
// /proc/self/maps names it after Debian's alternatives are resolved.
std::string loaded_blas_path() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.find("libblas") != std::string::npos || path.find("libopenblas") != std::string::npos ||
        path.find("libmkl") != std::string::npos)
      return path;
  }
  return "";
}
}  // namespace

EnvInfo probe_env() {
  EnvInfo e;
  e.genlens_version = GENLENS_VERSION;
  e.torch_version = TORCH_VERSION;
  // Touch BLAS so it is loaded (a tiny fp32 matmul).
  (void)torch::mm(torch::ones({2, 2}), torch::ones({2, 2}));
  e.blas_library = loaded_blas_path();
  e.blas_is_reference = e.blas_library.find("/blas/") != std::string::npos;
  e.intra_op_threads = at::get_num_threads();
  e.inter_op_threads = at::get_num_interop_threads();
  const char* omp = std::getenv("OMP_NUM_THREADS");
  e.threads_source = g_threads_flag ? "--threads"
                     : omp          ? std::string("OMP_NUM_THREADS=") + omp
                                    : "LibTorch's default for this machine";
  using GetThreads = int (*)();
  if (auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"))) e.blas_threads = get();
  e.devices.push_back("cpu");
  if (torch::cuda::is_available()) {
    for (int i = 0; i < static_cast<int>(torch::cuda::device_count()); ++i)
      e.devices.push_back("cuda:" + std::to_string(i));
  }
  return e;
}

namespace {

// OpenBLAS's own pool (LibTorch's Debian build calls into it for matmuls): sized through
// its C entry point when the loaded BLAS is OpenBLAS. False when it is not.
bool set_blas_threads(int n) {
  using SetThreads = void (*)(int);
  auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (!set) return false;
  set(n);
  return true;
}

}  // namespace

void tune_allocator() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_")) return;
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

void set_threads(int n) {
  if (n < 1) return;
  at::set_num_threads(n);
  g_threads_flag = true;
  if (std::getenv("OPENBLAS_NUM_THREADS")) return;
  set_blas_threads(n);
}

int match_blas_threads() {
  if (std::getenv("OPENBLAS_NUM_THREADS") || std::getenv("OMP_NUM_THREADS")) return 0;
  const int n = std::max(1, at::get_num_threads());
  return set_blas_threads(n) ? n : 0;
}

}  // namespace genlens::runtime
