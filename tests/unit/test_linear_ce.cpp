// The chunked LM-head cross-entropy equals the plain one (materialised [N, V] logits,
// autograd) in value and in gradient w.r.t. the hidden states, for any chunk size.
#include <doctest/doctest.h>

#include "core/gen/linear_ce.h"

using namespace genlens;
namespace F = torch::nn::functional;

TEST_CASE("linear_cross_entropy equals cross_entropy(linear(h, W)) in loss and gradient") {
  torch::manual_seed(3);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    const int64_t N = 37, H = 24, V = 301;
    auto w = (torch::randn({V, H}) * 0.3).to(dtype);
    auto labels = torch::randint(0, V, {N}, torch::kLong);
    auto h0 = torch::randn({N, H}).to(dtype);
    auto hp = h0.clone().requires_grad_(true);
    auto plain = F::cross_entropy(F::linear(hp, w).to(torch::kFloat32), labels);
    plain.backward();
    for (int64_t chunk : {1, 5, 16, 37, 100, 0}) {
      CAPTURE(chunk);
      auto hc = h0.clone().requires_grad_(true);
      auto loss = gen::linear_cross_entropy(hc, w, labels, chunk);
      (loss * 1.0).backward();
      const double tol = dtype == torch::kFloat32 ? 1e-5 : 1e-2;
      CHECK(loss.item<double>() == doctest::Approx(plain.item<double>()).epsilon(tol));
      auto rel = ((hc.grad().to(torch::kFloat32) - hp.grad().to(torch::kFloat32)).norm() /
                  hp.grad().to(torch::kFloat32).norm()).item<double>();
      CHECK(rel < tol);
    }
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
