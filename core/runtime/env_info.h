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
  std::string threads_source;    // who chose intra_op_threads: "--threads", "OMP_NUM_THREADS", LibTorch's default
  int blas_threads = 0;          // OpenBLAS's own pool (0: no OpenBLAS loaded)
  std::string blas_core;         // OpenBLAS's kernel set ("SkylakeX", "Haswell", ...; "" = not OpenBLAS)
  std::string blas_core_source;  // who chose it: OpenBLAS, OPENBLAS_CORETYPE, or genlens (and why)
  std::vector<std::string> devices;  // "cpu", "cuda:0 (NVIDIA H100 ...)", ...
};

EnvInfo probe_env();

// Gives OpenBLAS's own thread pool as many threads as LibTorch's intra-op pool (unless
// OPENBLAS_NUM_THREADS or OMP_NUM_THREADS says otherwise). OpenBLAS starts one thread
// per core, and its idle workers spin. Measured with `genlens demo --quick` on 2 cores,
// LibTorch on 1 thread: alone, OpenBLAS's 2 threads finish in 62-65 s against 73-78 s
// here, but burn 123-128 s of CPU against 73-78 s; beside another busy process (a
// compile, a second test, the studio's UI thread) they took 135 s against 86 s. A
// predictable share of the machine wins; set OPENBLAS_NUM_THREADS for the other trade.
// (LibTorch itself on 2 threads took 163-166 s: its ops are too small to split.)
// Returns the count set, or 0 when no OpenBLAS is loaded (or the environment decides).
int match_blas_threads();

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

// What every genlens process does first: the allocator, OpenBLAS's kernels and its
// thread pool (the three functions above).
void tune_for_tensors();

// `genlens --threads N`: LibTorch's intra-op pool (N >= 1) and OpenBLAS's to match
// (unless OPENBLAS_NUM_THREADS is set). Remembered for probe_env().
void set_threads(int n);

}  // namespace genlens::runtime
