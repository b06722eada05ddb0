// Tolerances for the numerical tests, derived from a float64 reference instead of fixed
// epsilons. A test that compares two reduced-precision computations with each other
// (bf16 vs bf16 within 1%) passes or fails with the CPU's kernels; here every candidate
// is judged against float64 computed from the same rounded inputs, and the tolerance is
// the plain path's own error on those inputs times a small factor: "the candidate is no
// less accurate than the plain path", on whatever kernels this machine runs.
//
// Where the kernels differ (LibTorch 1.13 as Debian 12 builds it; README, "--dtype bf16 on
// a CPU"): a bf16 matmul goes to oneDNN (float accumulation) only when the CPU has AVX512BW, VL and
// DQ (at::native::mkldnn_bf16_device_check, cpuinfo) and mkldnn is enabled; otherwise
// (an AVX2-only CPU such as AMD EPYC Zen 2/3) to ATen's native gemm, which for every
// operand layout but A row-major @ B column-major (x @ W.t(), a linear forward: a float dot
// product) adds into the bf16 output one k at a time (a linear layer's input gradient
// dY @ W, probabilities @ V): bf16 accumulation, 5-10x the error.
// oneDNN is also skipped for products of at most 16^3 multiply-adds, on any CPU.
// ATEN_CPU_CAPABILITY and OPENBLAS_CORETYPE do not change that choice.
// GENLENS_TEST_MKLDNN=0 (read by tests/test_main.cpp and tests/reference/decoder_lm_ref.py,
// which the other reference scripts import) turns mkldnn off, so an AVX-512 machine takes
// the AVX2 machine's path; tests/portability.sh runs both.
#pragma once
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>

namespace genlens::test {

// "Small factor": how much farther from float64 than the plain path a candidate may be.
constexpr double kNoWorseFactor = 2.0;

// Unit roundoff of a floating dtype: half the distance from 1 to the next number.
inline double unit_roundoff(torch::ScalarType t) {
  switch (t) {
    case torch::kBFloat16: return std::ldexp(1.0, -8);
    case torch::kFloat16: return std::ldexp(1.0, -11);
    case torch::kFloat32: return std::ldexp(1.0, -24);
    case torch::kFloat64: return std::ldexp(1.0, -53);
    default: return 0;
  }
}

// ||a - ref|| / ||ref||, in float64.
inline double rel_err(const torch::Tensor& a, const torch::Tensor& ref) {
  auto r = ref.to(torch::kFloat64);
  return (a.to(torch::kFloat64) - r).norm().item<double>() / std::max(1e-300, r.norm().item<double>());
}

// max |a - ref|, in float64.
inline double max_abs_err(const torch::Tensor& a, const torch::Tensor& ref) {
  return (a.to(torch::kFloat64) - ref.to(torch::kFloat64)).abs().max().item<double>();
}

// The tolerance for a candidate whose plain counterpart is `plain_err` from the float64
// reference: kNoWorseFactor times that, plus `floor` (the rounding of the result itself,
// which a plain error that is near 0 by chance would not cover). Callers derive `floor`
// from unit_roundoff() of the dtype the result is computed in.
inline double no_worse_tol(double plain_err, double floor) { return kNoWorseFactor * plain_err + floor; }

// Which kernel a bf16 matmul takes in this process (see above), for the test's MESSAGE.
inline std::string bf16_matmul_path() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) {
      flags = " " + line + " ";
      break;
    }
  auto has = [&](const char* f) { return flags.find(std::string(" ") + f + " ") != std::string::npos; };
  const bool onednn_cpu = has("avx512bw") && has("avx512vl") && has("avx512dq");
  if (onednn_cpu && at::globalContext().userEnabledMkldnn()) return "oneDNN (float accumulation) above 16^3 multiply-adds";
  return std::string("ATen native gemm (bf16 accumulation when not transposed; ") +
         (onednn_cpu ? "mkldnn disabled" : "no AVX512BW/VL/DQ") + ")";
}

}  // namespace genlens::test
