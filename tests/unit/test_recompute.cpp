// Activation recomputation (ForwardOptions::recompute, `genlens train --recompute`) is a
// memory/compute trade only: the loss and every adapter gradient equal the plain
// autograd path's, with and without padding, on every model family; a trainer run with
// it on equals one with it off.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/gen/adapter.h"
#include "core/gen/trainer.h"
#include "core/runtime/job.h"
#include "core/teach/teacher.h"
#include "tests/gen_fixtures.h"

using namespace genlens;

namespace {

struct LossAndGrads {
  double loss = 0;
  std::vector<std::pair<std::string, torch::Tensor>> grads;
};

// The training objective of one batch (recon + align), backward, the adapter's gradients.
LossAndGrads objective(const model::DecoderLM& lm, const gen::Adapter& a, const gen::TrainData& d, bool recompute) {
  for (auto& p : a.parameters())
    if (p.grad().defined()) p.mutable_grad().zero_();
  auto qb = gen::left_pad(d.query, 64, lm.device());
  auto enc = gen::encode_queries(lm, a, qb, recompute);
  auto teacher = torch::randn({d.size(), a.shape().teacher_dim}, torch::Generator(at::detail::createCPUGenerator(9)));
  auto loss = gen::recon_loss(lm, enc.soft_prompts, d.target, nullptr, recompute) + gen::align_loss(enc.embedding, teacher);
  loss.backward();
  LossAndGrads r;
  r.loss = loss.item<double>();
  for (auto& [n, p] : a.named_parameters()) r.grads.emplace_back(n, p.grad().clone());
  return r;
}

double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  auto d = (a.to(torch::kFloat64) - b.to(torch::kFloat64)).norm().item<double>();
  return d / std::max(1e-30, b.to(torch::kFloat64).norm().item<double>());
}

}  // namespace

TEST_CASE("recompute: loss and adapter gradients equal the plain path (padded and unpadded, every family)") {
  for (const char* family : test::kFamilies) {
    CAPTURE(family);
    auto lm = test::tiny_model(family);
    const int64_t H = lm->config().hidden_size;
    gen::Adapter a(gen::AdapterShape{3, 4, H, H}, torch::kCPU);
    a.init_random(*lm, 11);
    for (bool padded : {true, false}) {
      CAPTURE(padded);
      auto d = test::synthetic_data(5, padded ? 21 : 22, static_cast<int32_t>(lm->config().vocab_size));
      if (!padded)  // equal lengths: no pads on either pass (the plain causal attention path)
        for (int64_t i = 0; i < d.size(); ++i) {
          d.query[static_cast<size_t>(i)].resize(4, 17);
          d.target[static_cast<size_t>(i)].resize(7, 19);
        }
      auto plain = objective(*lm, a, d, false);
      auto re = objective(*lm, a, d, true);
      CHECK(re.loss == doctest::Approx(plain.loss).epsilon(1e-6));
      for (size_t i = 0; i < plain.grads.size(); ++i) {
        INFO(plain.grads[i].first);
        REQUIRE(re.grads[i].second.defined());
        CHECK(plain.grads[i].second.abs().max().item<double>() > 0);
        CHECK(rel_diff(re.grads[i].second, plain.grads[i].second) < 1e-5);
      }
    }
  }
}

TEST_CASE("recompute: no effect without a gradient, a trainer run with it on equals one with it off") {
  auto lm = test::tiny_model("qwen3");
  {
    torch::NoGradGuard ng;
    auto x = torch::randn({2, 6, lm->config().hidden_size});
    auto m = torch::ones({2, 6}, torch::kLong);
    model::ForwardOptions fo;
    fo.recompute = true;
    CHECK(torch::equal(lm->forward(x, m, fo).last_hidden, lm->forward(x, m).last_hidden));
  }
  auto data = test::synthetic_data(12, 4);
  std::vector<std::vector<runtime::MetricRow>> hist;
  std::vector<gen::Adapter> adapters;
  test::TempDir tmp("recompute-train");
  for (auto mode : {gen::Recompute::Off, gen::Recompute::On}) {
    gen::TrainerSetup ts;
    ts.lm = lm;
    ts.model_dir = test::tiny_model_dir("qwen3");
    ts.data = data;
    ts.teacher = std::make_shared<teach::MeanPoolTeacher>(lm, test::teacher_texts(data), 4);
    ts.settings.steps = 6;
    ts.settings.batch_size = 4;
    ts.settings.warmup_steps = 2;
    ts.settings.n_thought = 2;
    ts.settings.n_compression = 3;
    ts.out_dir = tmp / (mode == gen::Recompute::On ? "on" : "off");
    ts.recompute = mode;
    gen::Trainer t(std::move(ts));
    runtime::Job job("train", [&](runtime::JobContext& ctx) { t.run(ctx); });
    job.run_here();
    job.rethrow_if_failed();
    hist.push_back(t.history());
    adapters.push_back(t.adapter());
  }
  REQUIRE(hist[0].size() == 6);
  REQUIRE(hist[1].size() == 6);
  for (size_t i = 0; i < 6; ++i)
    for (auto* k : {"loss", "recon_loss", "align_loss", "grad_norm"}) {
      CAPTURE(k);
      CHECK(hist[1][i].value_or(k, 0) == doctest::Approx(hist[0][i].value_or(k, 1)).epsilon(1e-6));
    }
  auto pa = adapters[0].named_parameters(), pb = adapters[1].named_parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i].first);
    CHECK(rel_diff(pb[i].second, pa[i].second) < 1e-6);
  }
  CHECK(gen::parse_recompute("auto") == gen::Recompute::Auto);
  CHECK_THROWS_WITH(gen::parse_recompute("sometimes"), doctest::Contains("--recompute"));
}

TEST_CASE("recompute: auto decides from the step's activations and the free memory") {
  auto cfg = model::ModelConfig::from_json_file(test::source_dir() / "assets/model-shapes/qwen3-0.6b.json");
  gen::TrainSettings s;
  s.batch_size = 8;
  s.query_max_length = 64;
  s.response_max_length = 256;
  const double GiB = 1024.0 * 1024.0 * 1024.0;
  const auto [without, with] = gen::step_activation_bytes(cfg, s, 4);
  MESSAGE("Qwen3-0.6B, batch 8, query 64, response 256, float32: about ", without / GiB, " GiB of activations without "
          "recomputation, ", with / GiB, " GiB with it");
  CHECK(with < without / 4);  // only each layer's input is kept, and one layer at a time
  // Hand count for one layer without recomputation: positions x (3H + 4q + 3kv + 4I)
  // floats + heads x T^2 float32 probabilities per pass and row.
  const double T_enc = 64 + 10 + 10, T_dec = 10 + 256;
  const double per_layer = 8 * ((T_enc + T_dec) * (3 * 1024 + 4 * 2048 + 3 * 1024 + 4 * 3072) * 4 +
                                16 * (T_enc * T_enc + T_dec * T_dec) * 4);
  CHECK(without == doctest::Approx(28 * per_layer));
  // The decision: CPU with plenty free -> off, with little free -> on; CUDA -> on; asked -> as asked.
  const torch::Device cpu("cpu");
  auto plenty = gen::choose_recompute(gen::Recompute::Auto, cfg, s, cpu, 4, 4 * without);
  CHECK_FALSE(plenty.on);
  CHECK(plenty.why.find("auto: off") == 0);
  auto tight = gen::choose_recompute(gen::Recompute::Auto, cfg, s, cpu, 4, 1.5 * without);
  CHECK(tight.on);
  CHECK(tight.why.find("more than half of the") != std::string::npos);
  CHECK(gen::choose_recompute(gen::Recompute::Auto, cfg, s, torch::Device("cuda:0"), 2, 1e15).on);
  CHECK_FALSE(gen::choose_recompute(gen::Recompute::Off, cfg, s, cpu, 4, 1.0).on);
  CHECK(gen::choose_recompute(gen::Recompute::On, cfg, s, cpu, 4, 1e15).on);
  // A longer response grows the activations kept without recomputation faster than those kept with it.
  auto longer = s;
  longer.response_max_length = 1024;
  const auto [without_long, with_long] = gen::step_activation_bytes(cfg, longer, 4);
  CHECK(without_long / without > with_long / with);
}
