// The same input gives the same numbers: an embedding does not depend on the batch it
// was encoded in, and eval's classifier is trained to convergence, so embeddings that
// differ by rounding get the same predictions and `genlens eval` the same results
// whatever --batch-size.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "core/analysis/eval.h"
#include "core/analysis/metrics.h"
#include "core/analysis/points_tensor.h"
#include "core/gen/encoder.h"
#include "core/model/config.h"
#include "core/model/decoder_lm.h"
#include "core/text/tokenizer.h"
#include "tests/gen_fixtures.h"
#include "tests/lens_fixtures.h"
#include "tests/test_util.h"

using namespace genlens;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// A classification task over fixed vectors: `train` rows then `test` rows, text i = "t<i>".
struct VecTask {
  analysis::Task task;
  torch::Tensor x;  // [n_train + n_test, d] float32
};
VecTask synthetic_task(uint64_t seed) {
  // Ten classes of 160 + 171 points, a few dimensions 40x larger than the rest (as the
  // massive activations of a raw last-token state): an ill-conditioned problem.
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t n = 160, m = 171, d = 64, k = 6;
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto means = torch::randn({k, d}, g, opts) * 0.5;
  auto ytr = torch::randint(0, k, {n}, g, torch::kLong), yte = torch::randint(0, k, {m}, g, torch::kLong);
  auto scale = torch::ones({d}, opts);
  scale.narrow(0, 0, 3).fill_(40.0);
  auto xtr = (means.index_select(0, ytr) + torch::randn({n, d}, g, opts)) * scale;
  auto xte = (means.index_select(0, yte) + torch::randn({m, d}, g, opts)) * scale;
  VecTask v;
  v.task.type = analysis::TaskType::Classification;
  v.x = torch::cat({xtr, xte}).to(torch::kFloat32);
  for (int64_t i = 0; i < n + m; ++i) {
    auto label = std::to_string((i < n ? ytr[i] : yte[i - n]).item<int64_t>());
    (i < n ? v.task.texts : v.task.test_texts).push_back("t" + std::to_string(i));
    (i < n ? v.task.labels : v.task.test_labels).push_back(label);
  }
  return v;
}

analysis::EmbedFn embed_rows(const torch::Tensor& x) {
  return [x](const std::vector<std::string>& texts, const std::string&) {
    std::vector<int64_t> idx;
    for (auto& t : texts) idx.push_back(std::stoll(t.substr(1)));
    return analysis::to_points(x.index_select(0, torch::tensor(idx, torch::kLong)));
  };
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("batch invariance: an embedding does not depend on the batch it was encoded in") {
  auto dir = test::tiny_qwen3_text_model();
  auto lm = model::DecoderLM::load(dir);
  auto tok = text::load_tokenizer(dir);
  std::vector<std::string> texts;
  const char* words[] = {"sky", "blue", "cats", "sleep", "Paris", "river", "quickly", "seven", "and", "the"};
  for (int i = 0; i < 70; ++i) {
    std::string t;
    for (int w = 0; w < 2 + (i * 7) % 13; ++w) t += (w ? " " : "") + std::string(words[(i + w * 3) % 10]);
    texts.push_back(t);
  }
  for (auto mode : {gen::EncodeMode::Mean, gen::EncodeMode::Last}) {
    gen::EncodeOptions a, b;
    a.mode = b.mode = mode;
    a.batch_size = 16;
    b.batch_size = 64;
    auto ea = gen::encode_texts(*lm, nullptr, *tok, texts, "", a);
    auto eb = gen::encode_texts(*lm, nullptr, *tok, texts, "", b);
    CAPTURE(gen::to_string(mode));
    // Bit for bit: before, a batch was left padded to its longest text, and another
    // batch size padded a text to another length (every float moved by ~1e-6).
    CHECK(torch::equal(ea, eb));
    // Another set of texts around them: the rows agree to rounding (a batch's row count can
    // still pick another kernel for a small product; no padding is added any more).
    std::vector<std::string> subset(texts.begin() + 20, texts.begin() + 45);
    auto es = gen::encode_texts(*lm, nullptr, *tok, subset, "", b);
    CHECK((es - ea.narrow(0, 20, 25)).abs().max().item<float>() < 1e-4);
  }
}

TEST_CASE("batch invariance: eval's classifier gives the same predictions for embeddings that differ by rounding") {
  int flipped_at_100 = 0;
  for (uint64_t seed = 0; seed < 6; ++seed) {
    CAPTURE(seed);
    auto v = synthetic_task(seed);
    // The same vectors with float32 rounding noise (what another batch size or thread
    // count does to an embedding).
    auto g = at::make_generator<at::CPUGeneratorImpl>(100 + seed);
    auto noisy = v.x + torch::randn(v.x.sizes(), g, torch::TensorOptions().dtype(torch::kFloat32)) * 1e-6 * v.x.abs();
    auto s1 = analysis::score_task(v.task, embed_rows(v.x));
    auto s2 = analysis::score_task(v.task, embed_rows(noisy));
    CHECK(s1.at("accuracy") == s2.at("accuracy"));
    CHECK(s1.at("macro_f1") == s2.at("macro_f1"));
    // What it was: cut at MTEB's 100 LBFGS iterations the optimiser stops on its way, and
    // rounding noise moved some predictions.
    auto to_y = [](const std::vector<std::string>& l) {
      std::vector<int64_t> y;
      for (auto& s : l) y.push_back(std::stoll(s));
      return y;
    };
    const int64_t n = static_cast<int64_t>(v.task.texts.size());
    auto pred = [&](const torch::Tensor& x, int iters) {
      analysis::LogRegOptions lo;
      lo.max_iter = iters;
      return analysis::logistic_regression_predict(analysis::to_points(x.narrow(0, 0, n)), to_y(v.task.labels),
                                                   analysis::to_points(x.narrow(0, n, x.size(0) - n)), 6, lo);
    };
    flipped_at_100 += pred(v.x, 100) != pred(noisy, 100);
  }
  CHECK(flipped_at_100 > 0);
}

TEST_CASE("batch invariance: genlens eval gives the same numbers whatever --batch-size") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("fh-eval");
  fs::create_directories(tmp / "tasks" / "cls");
  test::write_file(tmp / "tasks" / "cls" / "task.json", R"({"type": "classification", "name": "cls"})");
  const char* kinds[] = {"weather", "food", "travel"};
  const char* words[] = {"rain", "sun", "bread", "soup", "train", "plane", "cold", "warm", "fast", "slow", "today"};
  std::string train, test_rows;
  for (int i = 0; i < 60; ++i) {
    std::string t;
    for (int w = 0; w < 3 + i % 9; ++w) t += (w ? " " : "") + std::string(words[(i * 5 + w * 7) % 11]);
    (i < 36 ? train : test_rows) += Json{{"text", t + " " + std::to_string(i)}, {"label", kinds[i % 3]}}.dump() + "\n";
  }
  test::write_file(tmp / "tasks" / "cls" / "train.jsonl", train);
  test::write_file(tmp / "tasks" / "cls" / "test.jsonl", test_rows);
  auto run = [&](const std::string& extra, const std::string& out) {
    auto r = test::run_genlens("eval --model " + test::shell_quote(model.string()) + " --tasks " +
                               test::shell_quote((tmp / "tasks").string()) + " --modes mean,last --out " +
                               test::shell_quote((tmp / out).string()) + " -q " + extra);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return Json::parse(test::read_file(tmp / out / "results.json"));
  };
  auto a = run("", "a"), b = run("--batch-size 64", "b"), c = run("--batch-size 3", "c");
  CHECK(a["tasks"] == b["tasks"]);
  CHECK(a["tasks"] == c["tasks"]);
}
