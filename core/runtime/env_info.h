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
  std::string threads_source;    // who chose intra_op_threads: "--threads", "OMP_NUM_THREADS", genlens (why), LibTorch
  int blas_threads = 0;          // OpenBLAS's own pool (0: no OpenBLAS loaded)
  std::string blas_threads_source;  // who chose blas_threads
  int usable_cores = 0;
  std::string blas_core;         // OpenBLAS's kernel set ("SkylakeX", "Haswell", ...; "" = not OpenBLAS)
  std::string blas_core_source;  // who chose it: OpenBLAS, OPENBLAS_CORETYPE, or genlens (and why)
  std::vector<std::string> devices;  // "cpu", "cuda:0 (NVIDIA H100 ...)", ...
};

EnvInfo probe_env();

// The cores this process may run on: its CPU affinity, capped by its cgroup's CPU
// quota (cpu.max) when one is set.
int usable_cores();

// Who the thread pools are sized for (choose_threads).
enum class ThreadRole {
  Command,  // the genlens command line
  Studio,   // genlens-studio: its UI thread keeps a core
  Tests,    // test binaries: CTest runs them side by side, one core each
};

// The thread pools genlens chooses, measured at Qwen3-0.6B's shape and at toy sizes on
// 2 cores (tests/bench/threads.sh): OpenBLAS, where the matmuls run, gets every usable
// core (decoding 4.8 -> 9.8 tokens/s, the lens 2.98 -> 2.25 s, a toy training step 403 ->
// 322 ms); LibTorch's own intra-op pool gets 1 thread on machines of up to 2 cores, where
// splitting its ops lost everywhere (the lens 2.25 -> 2.80 s, decoding 9.8 -> 9.6
// tokens/s), else LibTorch's default. LibTorch's default differs between versions (1.13
// picks 1 here, 2.6 picks 2), so the choice is made here. OMP_NUM_THREADS (LibTorch) and
// OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (OpenBLAS) still decide when set; `--threads N`
// over both. Tests: both pools 1, and both variables exported (unless set) so the
// processes a test starts (genlens, the Python references) run one thread too.
void choose_threads(ThreadRole role);

// glibc's allocator tuned for tensors: allocations up to 32 MB (its maximum) come from
// the heap instead of a fresh mmap, and freed memory is kept for reuse rather than
// returned at once. On these VMs every first touch of a fresh 4 KB page is a fault: a
// fresh [110, 151936] float32 chunk per step cost as much as the matmul that fills it.
// Left alone when the environment sets MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_.
void tune_allocator();

// OpenBLAS picks its kernels from the CPU's model number when it loads; a model it does
// not know (a newer CPU, or a VM that hides the model) gets its SSE3 "Prescott" kernels.
// On this project's 2-core VMs (an AVX-512 Xeon that OpenBLAS 0.3.21 does not recognise)
// that made float32 GEMM 34-52 GFLOP/s instead of 141-147 with the SkylakeX kernels, and
// the matrix-vector product of generation 1.8x slower (one thread). When OpenBLAS fell back
// to Prescott on a CPU with AVX-512 (F, CD, BW, DQ, VL) or AVX2 + FMA, this selects
// SkylakeX or Haswell through OpenBLAS's own OPENBLAS_CORETYPE path, re-run in this
// process before any BLAS call, and exports the variable so Python peers and references
// run the same kernels. Left alone when OPENBLAS_CORETYPE is set or OpenBLAS is not loaded.
void choose_blas_kernels();

// What every genlens process does first: the allocator, OpenBLAS's kernels and the
// thread pools (the functions above).
void tune_for_tensors(ThreadRole role);

// Threads for genlens's own matrix kernels (model/bf16_matvec.h), which stand in for the
// BLAS: OpenBLAS's pool size when OpenBLAS is loaded, else LibTorch's intra-op threads.
int matmul_threads();

// `genlens --threads N`: LibTorch's intra-op pool and OpenBLAS's, both N (N >= 1), over
// the environment. Remembered for probe_env().
void set_threads(int n);

}  // namespace genlens::runtime
