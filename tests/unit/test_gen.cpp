// The method at the tensor level on tiny random models (tests/model_fixtures.h):
// losses, frozen backbone, learning, batch invariance, exact resume, checkpoints.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <fstream>

#include "core/gen/adapter.h"
#include "core/gen/checkpoint.h"
#include "core/gen/encoder.h"
#include "core/gen/trainer.h"
#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/runtime/metrics_log.h"
#include "core/teach/teacher.h"
#include "core/util/error.h"
#include "tests/gen_fixtures.h"

using namespace genlens;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<const model::DecoderLM> qwen3() {
  static auto lm = test::tiny_model("qwen3");
  return lm;
}

gen::TrainerSetup make_setup(const fs::path& out, const gen::TrainData& data, const gen::TrainSettings& s,
                             std::shared_ptr<const model::DecoderLM> lm = qwen3()) {
  gen::TrainerSetup ts;
  ts.lm = lm;
  ts.model_dir = test::tiny_model_dir("qwen3");
  ts.data = data;
  ts.teacher = std::make_shared<teach::MeanPoolTeacher>(lm, test::teacher_texts(data), 4);
  ts.settings = s;
  ts.out_dir = out;
  return ts;
}

gen::TrainSettings small_settings() {
  gen::TrainSettings s;
  s.steps = 20;
  s.batch_size = 4;
  s.lr = 1e-3;
  s.warmup_steps = 5;
  s.save_every = 10;
  s.keep = 0;
  s.n_thought = 4;
  s.n_compression = 4;
  s.seed = 5;
  return s;
}

// Runs a trainer to completion on the calling thread; rethrows its error.
void run_trainer(gen::Trainer& t) {
  runtime::Job job("train", [&](runtime::JobContext& ctx) { t.run(ctx); });
  job.run_here();
  job.rethrow_if_failed();
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace

TEST_CASE("gen: adapter shapes, init scale, checkpoint tensor names") {
  auto lm = qwen3();
  gen::AdapterShape sh{10, 10, lm->config().hidden_size, 48};
  gen::Adapter a(sh, torch::kCPU);
  a.init_random(*lm, 1);
  CHECK(a.special_tokens.sizes() == std::vector<int64_t>{20, lm->config().hidden_size});
  CHECK(a.align_w.sizes() == std::vector<int64_t>{48, lm->config().hidden_size});
  double want = gen::embedding_std(*lm);
  CHECK(a.special_tokens.std().item<double>() == doctest::Approx(want).epsilon(0.15));
  std::vector<std::string> names;
  for (auto& [n, t] : a.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"special_tokens.weight", "recon_head.weight", "recon_head.bias",
                                          "align_head.weight", "align_head.bias"});
  CHECK(sh.encoding_mode() == "last_10_tokens");
  // Deterministic in the seed.
  gen::Adapter b(sh, torch::kCPU);
  b.init_random(*lm, 1);
  CHECK(torch::equal(a.recon_w, b.recon_w));
  CHECK(torch::equal(a.special_tokens, b.special_tokens));
}

TEST_CASE("gen: reconstruction loss = token-weighted mean of each row alone (pads and soft prompts ignored)") {
  auto lm = qwen3();
  torch::manual_seed(3);
  const int64_t H = lm->config().hidden_size;
  auto S = torch::randn({3, 5, H}) * 0.5;
  std::vector<gen::TokenRow> targets = {{11, 12, 13, 3}, {40, 41, 3}, {100, 101, 102, 103, 104, 105, 3}};
  int64_t n = 0;
  auto batch = gen::recon_loss(*lm, S, targets, &n).item<double>();
  CHECK(n == 14);
  double weighted = 0;
  for (int i = 0; i < 3; ++i) {
    auto one = gen::recon_loss(*lm, S.narrow(0, i, 1), {targets[static_cast<size_t>(i)]}).item<double>();
    weighted += one * static_cast<double>(targets[static_cast<size_t>(i)].size());
  }
  CHECK(batch == doctest::Approx(weighted / 14.0).epsilon(1e-5));
  // By hand for row 1: CE of logits at positions 4..6 of [S, 40, 41, 3] against 40, 41, 3.
  torch::NoGradGuard ng;
  auto ids = torch::tensor({40, 41}, torch::kLong).view({1, 2});
  auto in = torch::cat({S.narrow(0, 1, 1), lm->embed(ids)}, 1);
  auto h = lm->forward(in, torch::ones({1, 7}, torch::kLong)).last_hidden;
  auto logits = lm->lm_head(h.narrow(1, 4, 3)).view({3, -1});
  auto ce = torch::nn::functional::cross_entropy(logits, torch::tensor({40, 41, 3}, torch::kLong)).item<double>();
  auto alone = gen::recon_loss(*lm, S.narrow(0, 1, 1), {targets[1]}).item<double>();
  CHECK(alone == doctest::Approx(ce).epsilon(1e-5));
}

TEST_CASE("gen: training changes only the adapter, the LLM stays bit-identical and gets no gradients") {
  auto lm = qwen3();
  std::vector<torch::Tensor> before;
  for (auto& [n, p] : lm->named_parameters()) {
    CHECK_FALSE(p.requires_grad());
    before.push_back(p.clone());
  }
  test::TempDir tmp("gen-frozen");
  auto data = test::synthetic_data(12, 1);
  gen::Trainer t(make_setup(tmp / "run", data, small_settings()));
  run_trainer(t);
  size_t i = 0;
  for (auto& [n, p] : lm->named_parameters()) {
    INFO(n);
    CHECK_FALSE(p.grad().defined());
    CHECK(torch::equal(p, before[i++]));
  }
  // The adapter did change from its init.
  gen::Adapter init(t.adapter().shape(), torch::kCPU);
  init.init_random(*lm, small_settings().seed);
  for (auto& [n, p] : t.adapter().named_parameters()) {
    INFO(n);
    for (auto& [m, q] : init.named_parameters())
      if (m == n) CHECK(max_abs_diff(p, q) > 1e-5);
  }
}

TEST_CASE("gen: 300 steps on a fixed set lower recon loss and align loss well below their start") {
  auto lm = qwen3();
  test::TempDir tmp("gen-learn");
  auto data = test::synthetic_data(16, 2);
  auto s = small_settings();
  s.steps = 300;
  s.batch_size = 8;
  s.lr = 3e-3;
  s.warmup_steps = 30;
  s.save_every = 1000;
  s.n_thought = 10;
  s.n_compression = 10;
  gen::Trainer t(make_setup(tmp / "run", data, s));
  run_trainer(t);
  const auto& h = t.history();
  REQUIRE(h.size() == 300);
  auto avg = [&](const char* key, size_t from, size_t to) {
    double sum = 0;
    for (size_t i = from; i < to; ++i) sum += h[i].value_or(key, 0);
    return sum / static_cast<double>(to - from);
  };
  double r0 = avg("recon_loss", 0, 5), r1 = avg("recon_loss", 290, 300);
  double a0 = avg("align_loss", 0, 5), a1 = avg("align_loss", 290, 300);
  double c0 = avg("cos_matched", 0, 5), c1 = avg("cos_matched", 290, 300);
  MESSAGE("recon ", r0, " -> ", r1, "; align ", a0, " -> ", a1, "; cos(matched) ", c0, " -> ", c1,
          "; cos(unmatched) end ", avg("cos_unmatched", 290, 300));
  // Thresholds: recon to below 60% of its start (ln 512 = 6.2 is chance), align to
  // below 20% of its start; matched pairs end closer than unmatched ones.
  CHECK(r1 < 0.6 * r0);
  CHECK(a1 < 0.2 * a0);
  CHECK(c1 > avg("cos_unmatched", 290, 300));
  // metrics.jsonl has one row per step with every documented field.
  auto rows = runtime::MetricsLog::read(tmp / "run" / "metrics.jsonl");
  REQUIRE(rows.size() == 300);
  for (auto* key : {"loss", "recon_loss", "align_loss", "lr", "grad_norm", "samples_per_s", "tokens_per_s",
                    "cos_matched", "cos_unmatched", "student_norm", "teacher_norm"})
    CHECK(rows.back().value_or(key, -12345.0) != -12345.0);
  CHECK(rows[0].value_or("lr", 1) == 0.0);  // HF linear warm-up starts at 0
  CHECK(rows[30].value_or("lr", 0) == doctest::Approx(3e-3));
}

TEST_CASE("gen: an embedding is the same alone and in a left-padded batch (generative, mean, last)") {
  auto lm = qwen3();
  gen::Adapter a(gen::AdapterShape{10, 10, lm->config().hidden_size, 32}, torch::kCPU);
  a.init_random(*lm, 9);
  auto data = test::synthetic_data(7, 4);
  for (auto mode : {gen::EncodeMode::Generative, gen::EncodeMode::Mean, gen::EncodeMode::Last}) {
    INFO(gen::to_string(mode));
    gen::EncodeOptions o;
    o.mode = mode;
    o.batch_size = 7;
    auto batched = gen::encode_ids(*lm, &a, data.query, o);
    o.batch_size = 1;
    auto alone = gen::encode_ids(*lm, &a, data.query, o);
    CHECK(batched.sizes() == alone.sizes());
    CHECK(max_abs_diff(batched, alone) < 1e-5);
    o.batch_size = 3;  // another grouping
    CHECK(max_abs_diff(gen::encode_ids(*lm, &a, data.query, o), alone) < 1e-5);
  }
}

TEST_CASE("gen: resume equivalence: 60 steps straight == 30 steps + resume + 30 steps") {
  auto data = test::synthetic_data(10, 6);
  auto s = small_settings();
  s.steps = 60;
  s.save_every = 30;
  s.keep = 2;
  test::TempDir tmp("gen-resume");
  gen::Trainer straight(make_setup(tmp / "a", data, s));
  run_trainer(straight);

  auto first = make_setup(tmp / "b", data, s);
  first.stop_at_step = 30;
  {
    gen::Trainer t(std::move(first));
    run_trainer(t);
    CHECK(t.step() == 30);
  }
  auto second = make_setup(tmp / "b", data, s);  // a fresh teacher cache too
  second.resume = true;
  gen::Trainer resumed(std::move(second));
  run_trainer(resumed);
  CHECK(resumed.start_step() == 30);
  CHECK(resumed.step() == 60);
  // Tolerance: 1e-6 absolute (identical float32 arithmetic on the CPU; bit-identical in practice).
  for (auto& [n, p] : straight.adapter().named_parameters())
    for (auto& [m, q] : resumed.adapter().named_parameters())
      if (n == m) {
        INFO(n);
        CHECK(max_abs_diff(p, q) <= 1e-6);
      }
  auto ra = runtime::MetricsLog::read(tmp / "a" / "metrics.jsonl");
  auto rb = runtime::MetricsLog::read(tmp / "b" / "metrics.jsonl");
  REQUIRE(ra.size() == 60);
  REQUIRE(rb.size() == 60);
  for (size_t i = 0; i < 60; ++i) {
    CHECK(rb[i].step == static_cast<int64_t>(i + 1));
    CHECK(rb[i].value_or("loss", 0) == doctest::Approx(ra[i].value_or("loss", 1)).epsilon(1e-6));
  }
  // Optimizer state and trainer state are part of the checkpoint.
  auto cp = tmp / "b" / "checkpoint-60";
  for (auto* f : {"adapter.safetensors", "genlens.json", "optimizer.safetensors", "trainer_state.json"})
    CHECK(fs::exists(cp / f));
  // Without --resume a run directory with checkpoints is refused.
  gen::Trainer again(make_setup(tmp / "b", data, s));
  CHECK_THROWS_WITH_AS(run_trainer(again), doctest::Contains("pass --resume"), Error);
  // Resuming on other data is refused.
  auto other = make_setup(tmp / "b", test::synthetic_data(10, 99), s);
  other.resume = true;
  gen::Trainer wrong(std::move(other));
  CHECK_THROWS_WITH_AS(run_trainer(wrong), doctest::Contains("different training data"), Error);
}

TEST_CASE("gen: checkpoint round trip, corrupt or mismatched adapters are clear errors") {
  auto lm = qwen3();
  auto data = test::synthetic_data(8, 7);
  auto s = small_settings();
  s.steps = 4;
  s.save_every = 2;
  s.keep = 1;
  test::TempDir tmp("gen-ckpt");
  gen::Trainer t(make_setup(tmp / "run", data, s));
  run_trainer(t);
  auto cps = gen::list_checkpoints(tmp / "run");
  REQUIRE(cps.size() == 1);  // keep = 1
  CHECK(cps[0].first == 4);
  CHECK(gen::resolve_adapter_dir(tmp / "run") == cps[0].second);
  auto dir = cps[0].second;

  auto loaded = gen::load_adapter(dir, *lm, test::tiny_model_dir("qwen3"));
  for (auto& [n, p] : t.adapter().named_parameters())
    for (auto& [m, q] : loaded.adapter.named_parameters())
      if (n == m) CHECK(torch::equal(p, q));
  CHECK(loaded.meta.step == 4);
  CHECK(loaded.meta.shape.n_thought == 4);
  CHECK(loaded.meta.teacher_kind == "mean-pool");
  CHECK(loaded.meta.shape.teacher_dim == lm->config().hidden_size);
  CHECK(loaded.meta.compute_dtype == "float32");
  gen::EncodeOptions o;
  CHECK(torch::equal(gen::encode_ids(*lm, &t.adapter(), data.query, o),
                     gen::encode_ids(*lm, &loaded.adapter, data.query, o)));
  auto meta_text = test::read_file(dir / "genlens.json");
  CHECK(meta_text.find("\"encoding_mode\": \"last_4_tokens\"") != std::string::npos);
  CHECK(meta_text.find("\"weights_fingerprint\"") != std::string::npos);
  // Stored as float32 with the names and shapes of docs/ARCHITECTURE.md §6.3.
  auto st = io::SafetensorsFile::open(dir / "adapter.safetensors");
  CHECK(st->info("special_tokens.weight").shape == std::vector<int64_t>{8, lm->config().hidden_size});
  CHECK(st->info("special_tokens.weight").dtype == "F32");

  // Same architecture, different weights (another seed): refused.
  auto other_dir = tmp / "qwen3-seed8";
  auto cfg = test::source_dir() / "assets/configs/tiny-qwen3.json";
  auto r = test::run_genlens("init-model --config " + test::shell_quote(cfg.string()) + " --out " +
                             test::shell_quote(other_dir.string()) + " --vocab-size 512 --init-std 0.1 --perturb --seed 8");
  REQUIRE(r.exit_code == 0);
  auto other_seed = model::DecoderLM::load(other_dir);
  CHECK_THROWS_WITH_AS(gen::load_adapter(dir, *other_seed), doctest::Contains("different weights"), Error);
  // The same weights loaded as bf16 are the same base model.
  auto bf16 = test::tiny_model("qwen3", torch::kBFloat16);
  CHECK_NOTHROW(gen::load_adapter(dir, *bf16));
  // Another family: refused (hidden size or architecture named).
  auto llama = test::tiny_model("llama3");
  CHECK_THROWS_AS(gen::load_adapter(dir, *llama), Error);
  // Wrong hidden size.
  {
    auto j = nlohmann::json::parse(meta_text);
    j["base_model"]["hidden_size"] = 128;
    j["hidden_size"] = 128;
    auto bad = tmp / "bad-hidden";
    fs::copy(dir, bad);
    test::write_file(bad / "genlens.json", j.dump(2));
    CHECK_THROWS_WITH_AS(gen::load_adapter(bad, *lm), doctest::Contains("hidden size 128"), Error);
  }
  // Token counts that disagree with the tensors.
  {
    auto j = nlohmann::json::parse(meta_text);
    j["n_thought"] = 5;
    auto bad = tmp / "bad-count";
    fs::copy(dir, bad);
    test::write_file(bad / "genlens.json", j.dump(2));
    CHECK_THROWS_WITH_AS(gen::load_adapter(bad, *lm), doctest::Contains("special_tokens.weight"), Error);
  }
  // A truncated tensor file.
  {
    auto bad = tmp / "bad-truncated";
    fs::copy(dir, bad);
    auto bytes = test::read_file(bad / "adapter.safetensors");
    test::write_file(bad / "adapter.safetensors", bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_WITH_AS(gen::load_adapter(bad, *lm), doctest::Contains("adapter.safetensors"), Error);
  }
  // Garbage genlens.json, missing files, not a checkpoint at all.
  {
    auto bad = tmp / "bad-json";
    fs::copy(dir, bad);
    test::write_file(bad / "genlens.json", "{\"format\": ");
    CHECK_THROWS_WITH_AS(gen::load_adapter(bad, *lm), doctest::Contains("genlens.json: not valid JSON"), Error);
    fs::remove(bad / "genlens.json");
    CHECK_THROWS_WITH_AS(gen::load_adapter(bad, *lm), doctest::Contains("genlens.json is missing"), Error);
    CHECK_THROWS_AS(gen::resolve_adapter_dir(tmp / "nowhere"), Error);
  }
  // NaN in a tensor.
  {
    auto bad = tmp / "bad-nan";
    fs::copy(dir, bad);
    auto tensors = io::load_safetensors(dir / "adapter.safetensors");
    tensors["recon_head.bias"][0] = std::nan("");
    io::NamedTensors nt(tensors.begin(), tensors.end());
    io::save_safetensors(bad / "adapter.safetensors", nt);
    CHECK_THROWS_WITH_AS(gen::load_adapter(bad, *lm), doctest::Contains("NaN"), Error);
  }
}

TEST_CASE("teach: the npy teacher checks rows and dimension, the trainer uses its dimension") {
  auto lm = qwen3();
  test::TempDir tmp("teach-npy");
  auto data = test::synthetic_data(6, 8);
  io::save_npy(tmp / "t.npy", torch::randn({6, 24}));
  io::save_npy(tmp / "short.npy", torch::randn({5, 24}));
  io::save_npy(tmp / "flat.npy", torch::randn({6}));
  CHECK_THROWS_WITH_AS(teach::make_teacher("npy:" + (tmp / "short.npy").string(), lm, test::teacher_texts(data)),
                       doctest::Contains("have 5 rows but the training data has 6"), Error);
  CHECK_THROWS_WITH_AS(teach::make_teacher("npy:" + (tmp / "flat.npy").string(), lm, test::teacher_texts(data)),
                       doctest::Contains("2-D"), Error);
  CHECK_THROWS_WITH_AS(teach::make_teacher("bert", lm, test::teacher_texts(data)),
                       doctest::Contains("expected \"mean-pool\" or \"npy:PATH\""), Error);
  CHECK_THROWS_AS(teach::NpyTeacher(tmp / "t.npy", 6, 32), Error);
  auto teacher = teach::make_teacher("npy:" + (tmp / "t.npy").string(), lm, test::teacher_texts(data));
  CHECK(teacher->dim() == 24);
  auto s = small_settings();
  s.steps = 2;
  auto setup = make_setup(tmp / "run", data, s);
  setup.teacher = std::move(teacher);
  gen::Trainer t(std::move(setup));
  run_trainer(t);
  CHECK(t.adapter().align_w.size(0) == 24);
  CHECK(gen::read_adapter_meta(gen::resolve_adapter_dir(tmp / "run")).teacher_kind == "npy");
}

TEST_CASE("gen: either loss weight may be 0 (recon-only / align-only)") {
  auto data = test::synthetic_data(8, 12);
  test::TempDir tmp("gen-weights");
  auto s = small_settings();
  s.steps = 3;
  s.recon_weight = 0;
  gen::Trainer align_only(make_setup(tmp / "a", data, s));
  run_trainer(align_only);
  CHECK(std::isnan(align_only.history().back().value_or("recon_loss", 0)));
  CHECK(align_only.history().back().value_or("loss", 0) ==
        doctest::Approx(align_only.history().back().value_or("align_loss", 1)));
  // Align-only leaves the special tokens' decoder path untouched but still trains them.
  s.recon_weight = 1;
  s.align_weight = 0;
  gen::Trainer recon_only(make_setup(tmp / "r", data, s));
  run_trainer(recon_only);
  CHECK(recon_only.history().back().value_or("loss", 0) ==
        doctest::Approx(recon_only.history().back().value_or("recon_loss", 1)));
  CHECK(recon_only.history().back().value_or("align_loss", -1) >= 0);  // still logged
  s.recon_weight = 0;
  CHECK_THROWS_WITH_AS(gen::Trainer(make_setup(tmp / "z", data, s)), doctest::Contains("at least one > 0"), Error);
}

TEST_CASE("gen: query side truncates the text to max_length, then appends the special tokens") {
  auto lm = qwen3();
  gen::Adapter a(gen::AdapterShape{3, 2, lm->config().hidden_size, 16}, torch::kCPU);
  a.init_random(*lm, 2);
  gen::TokenRow long_row;
  for (int i = 0; i < 40; ++i) long_row.push_back(20 + i);
  gen::TokenRow head(long_row.begin(), long_row.begin() + 16);
  gen::EncodeOptions o;
  o.max_length = 16;
  auto cut = gen::encode_ids(*lm, &a, {long_row, head}, o);
  o.max_length = 0;  // no limit
  auto full = gen::encode_ids(*lm, &a, {head, long_row}, o);
  CHECK(max_abs_diff(cut[0], cut[1]) < 1e-6);    // the first 16 tokens are kept
  CHECK(max_abs_diff(cut[0], full[0]) < 1e-5);
  CHECK(max_abs_diff(full[0], full[1]) > 1e-4);  // the cut mattered
}
