#include "core/runtime/env_info.h"

#include <malloc.h>

#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include <torch/torch.h>
#include <ATen/Parallel.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace genlens::runtime {

namespace {
std::string g_threads_source = "LibTorch's default for this machine";
std::string g_blas_threads_source = "OpenBLAS's default";
std::string g_blas_core_source = "OpenBLAS, from the CPU model";

using CoreName = char* (*)();
std::string blas_core_name() {
  auto name = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return name ? std::string(name()) : std::string();
}

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
  e.threads_source = g_threads_source;
  using GetThreads = int (*)();
  if (auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"))) e.blas_threads = get();
  e.blas_threads_source = g_blas_threads_source;
  e.usable_cores = usable_cores();
  e.blas_core = blas_core_name();
  if (!e.blas_core.empty()) e.blas_core_source = g_blas_core_source;
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

int matmul_threads() {
  using GetThreads = int (*)();
  static const auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return std::max(1, get ? get() : at::get_num_threads());
}

void tune_allocator() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_")) return;
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

void choose_blas_kernels() {
  if (const char* set = std::getenv("OPENBLAS_CORETYPE")) {
    g_blas_core_source = std::string("OPENBLAS_CORETYPE=") + set;
    return;
  }
  using Fn = void (*)();
  auto quit = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
  auto init = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
  if (!quit || !init || blas_core_name() != "Prescott") return;  // not a DYNAMIC_ARCH OpenBLAS, or it knew the CPU
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vl");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const char* core = avx512 ? "SkylakeX" : avx2 ? "Haswell" : nullptr;
  if (!core) return;
  ::setenv("OPENBLAS_CORETYPE", core, 1);
  quit();
  init();  // reads OPENBLAS_CORETYPE, as at load
  if (blas_core_name() != core) {  // this OpenBLAS lacks the kernel set: back to its own choice
    ::unsetenv("OPENBLAS_CORETYPE");
    quit();
    init();
    return;
  }
  g_blas_core_source = fmt::format("genlens: OpenBLAS fell back to Prescott on this {} CPU "
                                   "(OPENBLAS_CORETYPE=Prescott keeps that)",
                                   avx512 ? "AVX-512" : "AVX2 + FMA");
}

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
  if (n < 1) n = std::max(1u, std::thread::hardware_concurrency());
  // cgroup v2: "max 100000" (no quota) or "<quota> <period>" in microseconds.
  std::ifstream f("/sys/fs/cgroup/cpu.max");
  std::string quota;
  long period = 0;
  if (f >> quota >> period && quota != "max" && period > 0) {
    const long q = std::atol(quota.c_str());
    if (q > 0) n = std::min<int>(n, static_cast<int>(std::max<long>(1, (q + period - 1) / period)));
  }
  return n;
}

void choose_threads(ThreadRole role) {
  const int cores = usable_cores();
  const char* omp = std::getenv("OMP_NUM_THREADS");
  const char* blas_env = std::getenv("OPENBLAS_NUM_THREADS");
  if (role == ThreadRole::Tests) {
    // Children inherit one thread; this process's pools started before main, so they are set too.
    ::setenv("OMP_NUM_THREADS", "1", 0);
    ::setenv("OPENBLAS_NUM_THREADS", "1", 0);
    omp = std::getenv("OMP_NUM_THREADS");
    blas_env = std::getenv("OPENBLAS_NUM_THREADS");
    const int t = std::max(1, std::atoi(omp)), b = std::max(1, std::atoi(blas_env));
    at::set_num_threads(t);
    set_blas_threads(b);
    g_threads_source = fmt::format("OMP_NUM_THREADS={} (tests)", omp);
    g_blas_threads_source = fmt::format("OPENBLAS_NUM_THREADS={} (tests)", blas_env);
    return;
  }
  if (omp) {
    g_threads_source = std::string("OMP_NUM_THREADS=") + omp;
  } else if (cores <= 2) {
    at::set_num_threads(1);
    g_threads_source = fmt::format("genlens: 1 on {} usable core{}, where splitting LibTorch's ops lost", cores,
                                   cores == 1 ? "" : "s");
  } else {
    at::set_num_threads(std::min(cores, at::get_num_threads()));
    g_threads_source = "LibTorch's default for this machine";
  }
  if (blas_env || omp) {
    g_blas_threads_source = blas_env ? std::string("OPENBLAS_NUM_THREADS=") + blas_env
                                     : std::string("OMP_NUM_THREADS=") + omp;
    return;
  }
  const int b = role == ThreadRole::Studio ? std::max(1, cores - 1) : cores;
  if (set_blas_threads(b))
    g_blas_threads_source = role == ThreadRole::Studio
                                ? fmt::format("genlens: {} usable core{} less the UI's", cores, cores == 1 ? "" : "s")
                                : fmt::format("genlens: every usable core ({})", cores);
}

void tune_for_tensors(ThreadRole role) {
  tune_allocator();
  choose_blas_kernels();
  choose_threads(role);
}

void set_threads(int n) {
  if (n < 1) return;
  at::set_num_threads(n);
  g_threads_source = "--threads";
  if (set_blas_threads(n)) g_blas_threads_source = "--threads";
}

}  // namespace genlens::runtime
