// Model core: safetensors, .npy, ModelConfig, DecoderLM on tiny random checkpoints
// written by `genlens init-model` (one per family: llama with llama3 rope scaling,
// qwen2 with q/k/v biases, qwen3 with q/k norm; tied and untied heads).
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/model/checkpoint.h"
#include "core/model/config.h"
#include "core/model/decoder_lm.h"
#include "core/model/generate.h"
#include "core/model/kv_cache.h"
#include "core/util/error.h"
#include "tests/model_fixtures.h"
#include "tests/test_util.h"

using namespace genlens;
namespace fs = std::filesystem;
using torch::Tensor;

TEST_CASE("safetensors: write then read back every dtype with metadata and zero-copy views") {
  test::TempDir tmp("st");
  auto f32 = torch::randn({3, 5});
  auto bf = torch::randn({7}).to(torch::kBFloat16);
  auto f16 = torch::randn({2, 2, 2}).to(torch::kFloat16);
  auto i64 = torch::arange(0, 6, torch::kLong).view({2, 3});
  auto empty = torch::zeros({0, 4});
  io::save_safetensors(tmp / "a.safetensors", {{"w", f32}, {"b", bf}, {"h", f16}, {"i", i64}, {"e", empty}},
                       {{"format", "pt"}});
  auto f = io::SafetensorsFile::open(tmp / "a.safetensors");
  CHECK(f->tensors().size() == 5);
  CHECK(f->metadata().at("format") == "pt");
  CHECK(f->info("b").dtype == "BF16");
  CHECK(f->info("w").shape == std::vector<int64_t>{3, 5});
  CHECK(torch::equal(f->get("w"), f32));
  CHECK(torch::equal(f->get("b"), bf));
  CHECK(torch::equal(f->get("h"), f16));
  CHECK(torch::equal(f->get("i"), i64));
  CHECK(f->get("e").numel() == 0);
  // Two gets view the same mapped bytes: no copy was made.
  CHECK(f->get("w").data_ptr() == f->get("w").data_ptr());
  // A view outlives the file object; writing to it does not touch the file.
  auto w = f->get("w");
  f.reset();
  w.mul_(2);
  auto all = io::load_safetensors(tmp / "a.safetensors");
  CHECK(torch::equal(all.at("w"), f32));
  CHECK(all.size() == 5);
}

TEST_CASE("npy: round trip and layout NumPy reads") {
  test::TempDir tmp("npy");
  auto a = torch::randn({4, 3});
  io::save_npy(tmp / "a.npy", a);
  CHECK(torch::equal(io::load_npy(tmp / "a.npy"), a));
  auto v = torch::randn({5});
  io::save_npy(tmp / "v.npy", v);
  CHECK(torch::equal(io::load_npy(tmp / "v.npy"), v));
  io::save_npy(tmp / "c.npy", torch::randn({2, 3, 4}).to(torch::kBFloat16));
  CHECK(io::load_npy(tmp / "c.npy").sizes().vec() == std::vector<int64_t>{2, 3, 4});
  // The header is 64-byte aligned (NumPy's rule for v1.0).
  auto bytes = test::read_file(tmp / "a.npy");
  CHECK((10 + (static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8))) % 64 == 0);
  auto r = test::run_command(test::system_python() + " -c \"import numpy as np; a=np.load('" +
                             (tmp / "a.npy").string() + "'); print(a.dtype, a.shape, float(a.sum()))\"");
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("float32 (4, 3)") != std::string::npos);
  // NumPy-written files (float64, Fortran order) are read too.
  r = test::run_command(test::system_python() + " -c \"import numpy as np; np.save('" + (tmp / "f.npy").string() +
                        "', np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2,3)))\"");
  REQUIRE(r.exit_code == 0);
  auto f = io::load_npy(tmp / "f.npy");
  CHECK((f.scalar_type() == torch::kFloat32));
  CHECK(torch::equal(f, torch::arange(6, torch::kFloat32).view({2, 3})));
}

TEST_CASE("config: every shipped tiny config parses with its family's structure") {
  for (std::string name : {"tiny-llama3", "tiny-llama3-untied", "tiny-llama2", "tiny-qwen2", "tiny-qwen2-untied",
                     "tiny-qwen3", "tiny-qwen3-untied", "tiny-mistral"}) {
    CAPTURE(name);
    auto c = model::ModelConfig::from_json_file(test::source_dir() / "assets/configs" / (name + ".json"));
    CHECK(c.hidden_size == 64);
    CHECK(c.num_attention_heads % c.num_key_value_heads == 0);
    if (c.model_type == "qwen2") CHECK(c.attention_bias);
    if (c.model_type == "qwen3") CHECK(c.qk_norm);
    if (c.model_type == "mistral") CHECK(c.sliding_window == 32);
    if (name.find("llama3") != std::string::npos) {
      CHECK(c.rope_scaling.type == "llama3");
      CHECK(c.eos_token_ids.size() == 3);
    }
    // to_json_string round-trips.
    auto c2 = model::ModelConfig::from_json_string(c.to_json_string());
    CHECK(c2.to_json_string() == c.to_json_string());
  }
  auto q3 = model::ModelConfig::from_json_file(test::source_dir() / "assets/configs/tiny-qwen3.json");
  CHECK(q3.head_dim == 32);  // decoupled from hidden_size / heads
}

TEST_CASE("model: forward runs with hidden states per layer and last_hidden is the final norm of the last") {
  for (std::string fam : test::kFamilies) {
    CAPTURE(fam);
    auto lm = test::tiny_model(fam);
    const auto& c = lm->config();
    auto ids = torch::tensor({5, 17, 3, 99, 250, 7}, torch::kLong).view({1, 6});
    model::ForwardOptions o;
    o.output_hidden_states = true;
    torch::NoGradGuard ng;
    auto out = lm->forward(lm->embed(ids), torch::ones({1, 6}, torch::kLong), o);
    CHECK(out.last_hidden.sizes().vec() == std::vector<int64_t>{1, 6, c.hidden_size});
    REQUIRE(out.hidden_states.size() == static_cast<size_t>(c.num_hidden_layers + 1));
    CHECK(torch::allclose(out.last_hidden, lm->final_norm(out.hidden_states.back())));
    CHECK(torch::equal(out.hidden_states[0], lm->embed(ids)));
    auto logits = lm->lm_head(out.last_hidden);
    CHECK(logits.size(2) == c.vocab_size);
    CHECK(torch::isfinite(logits).all().item<bool>());
  }
}

TEST_CASE("model: a left-padded batch gives each row what it gives alone") {
  for (std::string fam : test::kFamilies) {
    CAPTURE(fam);
    auto lm = test::tiny_model(fam);
    torch::NoGradGuard ng;
    std::vector<std::vector<int64_t>> rows = {{11, 22, 33, 44, 55, 66, 77}, {9, 8, 7}, {300, 1, 2, 3, 4}};
    const int64_t T = 7;
    auto ids = torch::zeros({3, T}, torch::kLong);
    auto mask = torch::zeros({3, T}, torch::kLong);
    for (int64_t b = 0; b < 3; ++b) {
      int64_t off = T - static_cast<int64_t>(rows[b].size());
      for (size_t i = 0; i < rows[b].size(); ++i) ids[b][off + i] = rows[b][i];
      mask[b].narrow(0, off, static_cast<int64_t>(rows[b].size())).fill_(1);
    }
    auto batch = lm->lm_head(lm->forward(lm->embed(ids), mask).last_hidden);
    double worst = 0;
    for (int64_t b = 0; b < 3; ++b) {
      int64_t n = static_cast<int64_t>(rows[b].size());
      auto one = torch::tensor(rows[b], torch::kLong).view({1, n});
      auto alone = lm->lm_head(lm->forward(lm->embed(one), torch::ones({1, n}, torch::kLong)).last_hidden)[0];
      auto got = batch[b].narrow(0, T - n, n);
      worst = std::max(worst, (got - alone).abs().max().item<double>());
    }
    MESSAGE(fam << ": left-padded batch vs alone, max abs logit diff " << worst);
    CHECK(worst < 1e-5);
  }
}

TEST_CASE("model: gradients flow to inputs_embeds while weights stay frozen") {
  auto lm = test::tiny_model("qwen3");
  auto x = lm->embed(torch::tensor({{1, 2, 3}}, torch::kLong)).detach().clone().requires_grad_(true);
  auto out = lm->forward(x, torch::ones({1, 3}, torch::kLong));
  lm->lm_head(out.last_hidden).sum().backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().abs().sum().item<double>() > 0);
  for (auto& [name, p] : lm->named_parameters()) CHECK_FALSE(p.requires_grad());
}

TEST_CASE("model: bidirectional attention lets early positions see later ones") {
  auto lm = test::tiny_model("llama3");
  torch::NoGradGuard ng;
  auto a = lm->embed(torch::tensor({{1, 2, 3, 4}}, torch::kLong));
  auto b = lm->embed(torch::tensor({{1, 2, 3, 5}}, torch::kLong));
  auto m = torch::ones({1, 4}, torch::kLong);
  model::ForwardOptions bi;
  bi.causal = false;
  // Causal: position 0 ignores the last token; bidirectional: it does not.
  CHECK(torch::allclose(lm->forward(a, m).last_hidden[0][0], lm->forward(b, m).last_hidden[0][0]));
  CHECK_FALSE(torch::allclose(lm->forward(a, m, bi).last_hidden[0][0], lm->forward(b, m, bi).last_hidden[0][0]));
}
