// The chunked LM-head cross-entropy (core/gen/linear_ce.cpp) is as accurate as the plain
// one (materialised [N, V] logits, autograd) in value and in gradient w.r.t. the hidden
// states, for any chunk size and dtype. Both are judged against float64 computed from the
// same rounded inputs; the fused path may be at most kNoWorseFactor times as far from it as
// the plain path on this machine, plus the result's own rounding (tests/numeric_ref.h).
//
// Why not "fused == plain within 1%" in bf16: the two paths are equally right
// but round differently (the plain path scales by 1/N before the bf16 cast of dlogits, the
// fused one after), and how far apart they land depends on the CPU. In LibTorch 1.13 the
// gradient's product dlogits[N, V] @ W[V, H] (both row-major) goes, for bf16, to oneDNN
// (float accumulation) on CPUs with AVX512BW/VL/DQ, but on an AVX2-only CPU (AMD EPYC) to
// ATen's native gemm, which adds each of the V products into the bf16 output: the plain
// gradient is 1.4% from float64 instead of 0.23%, and the two paths are 1.5% apart there
// (0.36% on AVX-512). GENLENS_TEST_MKLDNN=0 reproduces that machine's numbers exactly. The
// forward product h @ W.t() is a float dot product on both. log_softmax runs on float32
// logits (and in float internally for bf16 input); ATEN_CPU_CAPABILITY only changes its
// float32 reduction order.
#include <doctest/doctest.h>

#include "core/gen/linear_ce.h"
#include "tests/numeric_ref.h"

using namespace genlens;
namespace F = torch::nn::functional;

TEST_CASE("linear_cross_entropy is as accurate as cross_entropy(linear(h, W)) in loss and gradient") {
  MESSAGE("bf16 matmul path here: " << test::bf16_matmul_path());
  torch::manual_seed(3);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    CAPTURE(dtype);
    const int64_t N = 37, H = 24, V = 301;
    auto w = (torch::randn({V, H}) * 0.3).to(dtype);
    auto labels = torch::randint(0, V, {N}, torch::kLong);
    auto h0 = torch::randn({N, H}).to(dtype);
    // The float64 reference, from the same rounded h and W.
    auto hr = h0.to(torch::kFloat64).requires_grad_(true);
    auto ref = F::cross_entropy(F::linear(hr, w.to(torch::kFloat64)), labels);
    ref.backward();
    const double ref_loss = ref.item<double>();
    const auto ref_grad = hr.grad();
    // The plain path: its distance from the reference is what this machine's kernels give.
    auto hp = h0.clone().requires_grad_(true);
    auto plain = F::cross_entropy(F::linear(hp, w).to(torch::kFloat32), labels);
    plain.backward();
    const double plain_loss_err = std::abs(plain.item<double>() - ref_loss) / std::abs(ref_loss);
    const double plain_grad_err = test::rel_err(hp.grad(), ref_grad);
    // Floors: the loss is float32 on both paths (float32 rounding of a sum of N terms); the
    // gradient is rounded to h's dtype at the end.
    const double loss_tol = test::no_worse_tol(plain_loss_err, 16 * test::unit_roundoff(torch::kFloat32));
    const double grad_tol =
        test::no_worse_tol(plain_grad_err, (dtype == torch::kFloat32 ? 16 : 1) * test::unit_roundoff(dtype));
    MESSAGE(std::string(c10::toString(dtype)) << ": plain path vs float64: loss " << plain_loss_err << ", gradient "
                                 << plain_grad_err);
    // The reference itself is right: float32 lands within a few float32 roundings of it.
    if (dtype == torch::kFloat32) CHECK(plain_grad_err < 64 * test::unit_roundoff(torch::kFloat32));
    double worst = 0, apart = 0;
    for (int64_t chunk : {1, 5, 16, 37, 100, 0}) {
      CAPTURE(chunk);
      auto hc = h0.clone().requires_grad_(true);
      auto loss = gen::linear_cross_entropy(hc, w, labels, chunk);
      (loss * 1.0).backward();
      CHECK(std::abs(loss.item<double>() - ref_loss) / std::abs(ref_loss) <= loss_tol);
      CHECK((hc.grad().scalar_type() == dtype));
      const double err = test::rel_err(hc.grad(), ref_grad);
      CHECK(err <= grad_tol);
      worst = std::max(worst, err);
      apart = std::max(apart, test::rel_err(hc.grad(), hp.grad()));
    }
    MESSAGE(std::string(c10::toString(dtype)) << ": fused gradient vs float64 at most " << worst << " (tolerance "
                                              << grad_tol << "); fused vs plain up to " << apart);
  }
}
TEST_CASE("linear_cross_entropy: a scaled upstream gradient scales the result, bad shapes are errors") {
  torch::manual_seed(4);
  auto w = torch::randn({50, 8});
  auto labels = torch::randint(0, 50, {6}, torch::kLong);
  auto h = torch::randn({6, 8}, torch::requires_grad());
  (gen::linear_cross_entropy(h, w, labels, 4) * 3.0).backward();
  auto g3 = h.grad().clone();
  h.grad().zero_();
  gen::linear_cross_entropy(h, w, labels, 4).backward();
  CHECK(torch::allclose(g3, h.grad() * 3.0, 1e-6, 1e-7));
  CHECK_THROWS(gen::linear_cross_entropy(torch::randn({6, 7}), w, labels));
  CHECK_THROWS(gen::linear_cross_entropy(h, w, labels.narrow(0, 0, 5)));
}
