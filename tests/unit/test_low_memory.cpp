// The CPU's low-memory weight format (DecoderLM::load's matrix_dtype = bf16 with float32
// compute): the bf16 matrix-vector kernel against float64 sums of the same bf16 values,
// model::linear's three paths, and a whole model's logits against two float32 models --
// one with the weights rounded to bf16 beforehand (the format must reproduce it to
// float32 summation error: it only stores the rounded values) and the original (the
// difference is then the rounding's, and nothing more).
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "core/model/bf16_matvec.h"
#include "core/model/decoder_lm.h"
#include "core/model/linear.h"
#include "tests/gen_fixtures.h"
#include "tests/model_fixtures.h"
#include "tests/test_util.h"

using namespace genlens;
namespace fs = std::filesystem;
using torch::Tensor;

namespace {

// The bf16 weight's exact values, summed in float64.
Tensor reference(const Tensor& x, const Tensor& w_bf16, const Tensor& b = {}) {
  auto y = torch::matmul(x.to(torch::kDouble), w_bf16.to(torch::kDouble).t());
  if (b.defined()) y = y + b.to(torch::kDouble);
  return y;
}

double max_rel(const Tensor& got, const Tensor& want) {
  return ((got.to(torch::kDouble) - want).abs().max() / want.abs().max()).item<double>();
}

}  // namespace

TEST_CASE("bf16 weights: the matrix-vector kernel sums the bf16 values exactly as float64 does, to float32 error") {
  torch::manual_seed(3);
  MESSAGE("bf16_matvec runs on " << std::string(model::bf16_matvec_isa()));
  // Widths with and without a vector tail; output counts that split unevenly over blocks.
  for (int64_t in : {16, 64, 1000, 1031}) {
    for (int64_t out : {1, 7, 130}) {
      auto w = torch::randn({out, in}).to(torch::kBFloat16);
      for (int rows = 1; rows <= model::kBf16MatvecMaxRows; ++rows) {
        CAPTURE(in);
        CAPTURE(out);
        CAPTURE(rows);
        auto x = torch::randn({rows, in});
        auto y = torch::full({rows, out}, std::nan(""));
        for (int threads : {1, 2}) {
          model::bf16_matvec(x.data_ptr<float>(), rows, reinterpret_cast<const uint16_t*>(w.data_ptr()), out, in,
                             y.data_ptr<float>(), threads);
          CHECK(max_rel(y, reference(x, w)) < 2e-6);
        }
      }
    }
  }
}

TEST_CASE("bf16 weights: model::linear gives float32 results on every path (few rows, chunked rows, many rows, bias)") {
  torch::NoGradGuard ng;
  torch::manual_seed(4);
  auto w = torch::randn({300, 96}).to(torch::kBFloat16);
  auto b = torch::randn({300});
  for (int64_t rows : {1, 5, 8, 20, 32, 33, 100}) {
    CAPTURE(rows);
    auto x = torch::randn({rows, 96});
    auto y = model::linear(x, w, b);
    CHECK((y.scalar_type() == torch::kFloat32));
    CHECK((y.sizes() == torch::IntArrayRef{rows, 300}));
    CHECK(max_rel(y, reference(x, w, b)) < 2e-6);
  }
  // Leading dimensions are kept, as F::linear keeps them.
  auto x3 = torch::randn({2, 3, 96});
  CHECK((model::linear(x3, w).sizes() == torch::IntArrayRef{2, 3, 300}));
  // With gradients asked for, the float32 copy path carries them to x.
  torch::AutoGradMode on(true);
  auto xg = torch::randn({1, 96}).requires_grad_(true);
  model::linear(xg, w).sum().backward();
  auto want = w.to(torch::kFloat32).sum(0);
  CHECK(torch::allclose(xg.grad().view({-1}), want, 1e-5, 1e-5));
}

TEST_CASE("bf16 weights: a model's logits equal its float32 twin with bf16-rounded weights, and differ from float32 by the rounding alone") {
  torch::NoGradGuard ng;
  for (std::string fam : {"llama3", "qwen2", "qwen3-untied"}) {
    CAPTURE(fam);
    const auto dir = test::tiny_model_dir(fam);
    auto f32 = model::DecoderLM::load(dir, torch::kCPU, torch::kFloat32);
    auto low = model::DecoderLM::load(dir, torch::kCPU, torch::kFloat32, {}, torch::kBFloat16);
    // The same values in float32: every matrix rounded to bf16 while it loads.
    auto rounded = model::DecoderLM::load(dir, torch::kCPU, torch::kFloat32, [](const std::string&, const Tensor& t) {
      return t.dim() == 2 ? t.to(torch::kBFloat16).to(torch::kFloat32) : Tensor();
    });
    CHECK((low->dtype() == torch::kFloat32));
    CHECK((low->matrix_dtype() == torch::kBFloat16));
    // Half the bytes in the matrices (the norms stay float32).
    double bytes_f32 = 0, bytes_low = 0;
    for (auto& [n, t] : f32->named_parameters()) bytes_f32 += t.dim() == 2 ? t.nbytes() : 0;
    for (auto& [n, t] : low->named_parameters()) bytes_low += t.dim() == 2 ? t.nbytes() : 0;
    CHECK(bytes_low == doctest::Approx(bytes_f32 / 2));

    // 1 row (the kernel, one row: decoding), 26 rows (the kernel, chunked), 60 rows (a
    // float32 copy of each matrix and the BLAS).
    for (auto shape : {std::vector<int64_t>{1, 1}, {2, 13}, {3, 20}}) {
      CAPTURE(shape[0] * shape[1]);
      auto ids = torch::randint(0, 500, shape, torch::kLong);
      auto mask = torch::ones_like(ids);
      auto logits = [&](const model::DecoderLM& lm) { return lm.lm_head(lm.forward(lm.embed(ids), mask).last_hidden); };
      auto z_low = logits(*low), z_rounded = logits(*rounded), z_f32 = logits(*f32);
      CHECK((z_low.scalar_type() == torch::kFloat32));
      const double scale = z_f32.abs().max().item<double>();
      const double vs_rounded = (z_low - z_rounded).abs().max().item<double>() / scale;
      const double rounding = (z_rounded - z_f32).abs().max().item<double>() / scale;
      const double vs_f32 = (z_low - z_f32).abs().max().item<double>() / scale;
      MESSAGE(fam << ", " << shape[0] * shape[1] << " rows: max |logit diff| / max |logit|: vs the rounded twin "
                  << vs_rounded << ", rounding alone " << rounding << ", vs float32 " << vs_f32);
      CHECK(vs_rounded < 1e-5);         // float32 summation order only
      CHECK(rounding > 1e-4);           // the rounding is real (a no-op format would not pass)
      CHECK(vs_f32 < rounding + 1e-5);  // and it is all the format adds
    }
  }
}

TEST_CASE("bf16 weights: the CLI takes --weights bf16 for analysis, agrees with float32 on the lens, and training refuses it") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("low-memory-cli");
  const std::string lens = "lens --model " + test::shell_quote(model.string()) + " --query 'I am so angry today' --json";
  auto a = test::run_genlens_split(lens + " --weights same", tmp.path);
  auto b = test::run_genlens_split(lens + " --weights bf16", tmp.path);
  INFO(a.err);
  INFO(b.err);
  REQUIRE(a.exit_code == 0);
  REQUIRE(b.exit_code == 0);
  const auto ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out);
  const auto& ca = ja["results"][0]["cells"];
  const auto& cb = jb["results"][0]["cells"];
  REQUIRE(ca.size() == cb.size());
  int cells = 0, same = 0;
  double max_prob_diff = 0;
  for (size_t l = 0; l < ca.size(); ++l)
    for (size_t p = 0; p < ca[l].size(); ++p) {
      ++cells;
      same += ca[l][p]["top"][0]["id"] == cb[l][p]["top"][0]["id"];
      max_prob_diff = std::max(max_prob_diff, std::abs(ca[l][p]["top"][0]["prob"].get<double>() -
                                                       cb[l][p]["top"][0]["prob"].get<double>()));
    }
  MESSAGE("lens top-1 identical in " << same << " of " << cells << " cells; largest top-1 probability change "
                                     << max_prob_diff);
  CHECK(cells > 0);
  CHECK(same >= cells * 9 / 10);
  CHECK(max_prob_diff < 0.05);

  test::write_file(tmp / "responses.jsonl", "{\"id\": \"a\", \"question\": \"q\", \"response\": \"r\"}\n");
  auto t = test::run_genlens("train --model " + test::shell_quote(model.string()) + " --data " +
                             test::shell_quote((tmp / "responses.jsonl").string()) + " --out " +
                             test::shell_quote((tmp / "run").string()) + " --weights bf16");
  CHECK(t.exit_code != 0);
  CHECK(t.output.find("--weights bf16: training keeps the weights in the compute dtype") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "run"));
}
