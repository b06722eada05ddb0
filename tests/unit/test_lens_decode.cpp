// Decoding an embedding back to text (core/analysis/decode.h) is the training path:
// an adapter trained to near-zero reconstruction loss on 8 rows decodes each training
// response token for token; interpolation at t=0 / t=1 equals decoding a / b; the CLI.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "core/analysis/decode.h"
#include "core/teach/teacher.h"
#include "core/text/tokenizer.h"
#include "tests/lens_fixtures.h"

using namespace genlens;
namespace fs = std::filesystem;

TEST_CASE("decode: greedy decoding from S reproduces the training responses, t=0/1 interpolation = a/b") {
  // A random model whose logits can be peaked (init std 0.5, 512 tokens): with the default
  // 0.02 init the logits span a few nats and the reconstruction loss floors near ln V.
  test::TempDir tmp("decode-train");
  auto cfg = test::source_dir() / "assets/configs/tiny-qwen3.json";
  auto r = test::run_genlens("init-model --config " + test::shell_quote(cfg.string()) + " --out " +
                             test::shell_quote((tmp / "model").string()) + " --vocab-size 512 --init-std 0.5 --seed 7");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::shared_ptr<const model::DecoderLM> lm = model::DecoderLM::load(tmp / "model");
  auto data = test::synthetic_data(8, 21);
  gen::TrainerSetup ts;
  ts.lm = lm;
  ts.model_dir = tmp / "model";
  ts.data = data;
  ts.teacher = std::make_shared<teach::MeanPoolTeacher>(lm, test::teacher_texts(data), 8);
  ts.settings.steps = 300;
  ts.settings.batch_size = 8;
  ts.settings.lr = 1e-2;
  ts.settings.warmup_steps = 10;
  ts.settings.align_weight = 0.0;  // reconstruction only: this test is about decodability
  ts.settings.save_every = 100000;
  ts.settings.seed = 3;
  ts.out_dir = tmp / "run";
  gen::Trainer trainer(ts);
  runtime::Job job("train", [&](runtime::JobContext& ctx) { trainer.run(ctx); });
  job.run_here();
  job.rethrow_if_failed();
  const double first = trainer.history().front().value_or("recon_loss", -1);
  const double last = trainer.history().back().value_or("recon_loss", -1);

  analysis::DecodeOptions opt;
  opt.max_new_tokens = 16;
  opt.extra_eos_ids = {3};  // the synthetic rows end in id 3 (outside Qwen3's ids, dropped by --vocab-size)
  opt.model_answer = false;
  std::vector<std::vector<int32_t>> rows(data.query.begin(), data.query.end());
  auto out = analysis::decode_query_ids(*lm, trainer.adapter(), nullptr, rows, opt);
  REQUIRE(out.size() == 8);
  int exact = 0;
  int64_t tokens_right = 0, tokens_all = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    std::vector<int32_t> want(data.target[i].begin(), data.target[i].end() - 1);  // without EOS
    if (out[i].ids == want && out[i].stopped_at_eos) ++exact;
    for (size_t j = 0; j < want.size(); ++j) {
      ++tokens_all;
      if (j < out[i].ids.size() && out[i].ids[j] == want[j]) ++tokens_right;
    }
  }
  MESSAGE("recon loss ", first, " -> ", last, " after 300 steps; greedy decode reproduces ", exact,
          "/8 responses exactly (", tokens_right, "/", tokens_all, " tokens in place)");
  CHECK(last < 0.05);
  CHECK(exact >= 7);

  // Streaming (the studio's inspector): each row's text grows one token at a time and
  // ends as the batch result.
  std::vector<std::vector<std::vector<int32_t>>> seen(rows.size());
  auto streaming = opt;
  streaming.on_token = [&](size_t row, analysis::DecodeOptions::Stream which, const analysis::DecodedText& so_far) {
    CHECK(which == analysis::DecodeOptions::Stream::FromEmbedding);
    REQUIRE(row < seen.size());
    seen[row].push_back(so_far.ids);
    CHECK_FALSE(so_far.stopped_at_eos);
  };
  auto again = analysis::decode_query_ids(*lm, trainer.adapter(), nullptr, rows, streaming);
  for (size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(i);
    CHECK(again[i].ids == out[i].ids);
    REQUIRE(seen[i].size() == out[i].ids.size());
    for (size_t k = 0; k < seen[i].size(); ++k)
      CHECK(seen[i][k] == std::vector<int32_t>(out[i].ids.begin(), out[i].ids.begin() + long(k) + 1));
  }

  // Interpolation: t=0 and t=1 are exactly decoding a and b.
  auto steps = analysis::interpolate_ids(*lm, trainer.adapter(), nullptr, rows[0], rows[1], 5, opt);
  REQUIRE(steps.size() == 5);
  CHECK(steps.front().t == 0.0);
  CHECK(steps.back().t == 1.0);
  CHECK(steps[2].t == doctest::Approx(0.5));
  CHECK(steps.front().text.ids == out[0].ids);
  CHECK(steps.back().text.ids == out[1].ids);
}

TEST_CASE("decode CLI: decoded text next to the model's answer, interpolation, --json, errors") {
  auto dir = test::tiny_qwen3_text_model();
  test::TempDir tmp("decode-cli");
  auto lm = model::DecoderLM::load(dir);
  auto ad = test::random_adapter_dir(*lm, dir, tmp / "adapter", 2, 3);
  const std::string base =
      "decode --model " + test::shell_quote(dir.string()) + " --adapter " + test::shell_quote(ad.string()) + " ";
  auto r = test::run_genlens(base + "--query 'why is the sky blue?' --query 'name a fruit' --max-new-tokens 4");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("from embedding:") != std::string::npos);
  CHECK(r.output.find("model's answer:") != std::string::npos);
  auto j = test::run_genlens(base + "--query 'a cat' --query-b 'a dog' --steps 3 --max-new-tokens 3 --json");
  INFO(j.output);
  REQUIRE(j.exit_code == 0);
  auto js = nlohmann::json::parse(j.output);
  REQUIRE(js["interpolation"]["steps"].size() == 3);
  CHECK(js["interpolation"]["steps"][1]["t"].get<double>() == doctest::Approx(0.5));
  auto e1 = test::run_genlens("decode --model " + test::shell_quote(dir.string()) + " --adapter " +
                              test::shell_quote((tmp / "missing").string()) + " --query x");
  CHECK(e1.exit_code == 1);
  CHECK(e1.output.find("no such adapter directory") != std::string::npos);
  // A query longer than --max-length is cut as encode cuts it, with a warning.
  auto e2 = test::run_genlens(base + "--query 'one two three four five' --max-length 2 --max-new-tokens 2");
  INFO(e2.output);
  CHECK(e2.exit_code == 0);
  CHECK(e2.output.find("warning: decode: the query is") != std::string::npos);
  CHECK(e2.output.find("only its first 2 are used") != std::string::npos);
  auto e3 = test::run_genlens(base + "--query a --query-b b --steps 1");
  CHECK(e3.exit_code == 1);
  CHECK(e3.output.find("--steps") != std::string::npos);
}
