// The optimizer and schedule (core/optim/adamw.h) against LibTorch's own AdamW and the
// formula of HF's get_linear_schedule_with_warmup, and its state through a save/load.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <map>

#include "core/optim/adamw.h"

using namespace genlens;

namespace {
double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

void backward_on(torch::Tensor& p, const torch::Tensor& x) {
  if (p.grad().defined()) p.mutable_grad().zero_();
  (p.matmul(x).pow(2).sum()).backward();
}
}  // namespace

TEST_CASE("adamw: matches torch::optim::AdamW step by step (weight decay, bias correction)") {
  torch::manual_seed(0);
  auto w0 = torch::randn({4, 3});
  auto a = w0.clone().requires_grad_(true);
  auto b = w0.clone().requires_grad_(true);
  optim::AdamW ours({{"w", a}}, 0.9, 0.98, 1e-8, 0.01);
  torch::optim::AdamW ref({b}, torch::optim::AdamWOptions(0.01).betas({0.9, 0.98}).eps(1e-8).weight_decay(0.01));
  for (int i = 0; i < 5; ++i) {
    auto x = torch::randn({3});
    backward_on(a, x);
    backward_on(b, x);
    ours.step(0.01);
    ref.step();
    CHECK(max_abs_diff(a, b) < 1e-6);
  }
  CHECK(ours.steps_taken() == 5);
}

TEST_CASE("adamw: state saved and loaded continues exactly as the uninterrupted optimizer") {
  torch::manual_seed(1);
  auto w0 = torch::randn({5, 2});
  std::vector<torch::Tensor> xs;
  for (int i = 0; i < 8; ++i) xs.push_back(torch::randn({2}));
  auto straight = w0.clone().requires_grad_(true);
  optim::AdamW one({{"w", straight}}, 0.9, 0.999, 1e-8, 0.1);
  for (int i = 0; i < 8; ++i) {
    backward_on(straight, xs[size_t(i)]);
    one.step(optim::linear_schedule(i, 2, 8) * 1e-2);
  }
  // Four steps, save, a fresh optimizer on the saved weights, four more.
  auto first = w0.clone().requires_grad_(true);
  optim::AdamW two({{"w", first}}, 0.9, 0.999, 1e-8, 0.1);
  for (int i = 0; i < 4; ++i) {
    backward_on(first, xs[size_t(i)]);
    two.step(optim::linear_schedule(i, 2, 8) * 1e-2);
  }
  std::map<std::string, torch::Tensor> saved;
  for (auto& [n, t] : two.state_tensors()) saved[n] = t.clone();
  CHECK(saved.count("exp_avg.w") == 1);
  CHECK(saved.count("exp_avg_sq.w") == 1);
  auto second = first.detach().clone().requires_grad_(true);
  optim::AdamW three({{"w", second}}, 0.9, 0.999, 1e-8, 0.1);
  three.load_state(saved, two.steps_taken(), "test");
  for (int i = 4; i < 8; ++i) {
    backward_on(second, xs[size_t(i)]);
    three.step(optim::linear_schedule(i, 2, 8) * 1e-2);
  }
  CHECK(torch::equal(second, straight));
  // A state of the wrong shape is an error naming the tensor.
  saved["exp_avg.w"] = torch::zeros({2, 5});
  CHECK_THROWS_WITH(three.load_state(saved, 4, "opt.safetensors"), doctest::Contains("exp_avg.w"));
}

TEST_CASE("adamw: HF linear schedule with warm-up") {
  CHECK(optim::linear_schedule(0, 100, 5000) == 0.0);
  CHECK(optim::linear_schedule(50, 100, 5000) == doctest::Approx(0.5));
  CHECK(optim::linear_schedule(100, 100, 5000) == doctest::Approx(1.0));
  CHECK(optim::linear_schedule(2550, 100, 5000) == doctest::Approx(0.5));
  CHECK(optim::linear_schedule(5000, 100, 5000) == 0.0);
  CHECK(optim::linear_schedule(3, 0, 10) == doctest::Approx(0.7));  // no warm-up
}
