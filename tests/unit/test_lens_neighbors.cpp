// Neighbours side by side (core/analysis/neighbors.h) with the on-disk corpus cache,
// and the HyDE encode mode (generate with the chat template, then mean-pool).
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "core/analysis/neighbors.h"
#include "core/data/responses.h"
#include "core/gen/encoder.h"
#include "core/io/jsonl.h"
#include "core/runtime/job.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "tests/lens_fixtures.h"

using namespace genlens;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kCorpus = {
    "The sky is blue because of Rayleigh scattering.", "Paris is the capital of France.",
    "Bananas are rich in potassium.",                  "Cats sleep for most of the day.",
    "Water boils at 100 degrees Celsius.",             "The moon orbits the earth every month."};

analysis::NeighborsResult run(const model::DecoderLM& lm, const gen::Adapter* ad, const text::Tokenizer& tok,
                              const fs::path& model_dir, const fs::path& ad_dir, const fs::path& corpus_path,
                              const std::string& query, const analysis::NeighborsOptions& opt) {
  analysis::NeighborsResult r;
  runtime::Job job("neighbors", [&](runtime::JobContext& ctx) {
    r = analysis::find_neighbors(ctx, lm, ad, tok, model_dir, ad_dir, kCorpus, corpus_path, query, opt);
  });
  job.run_here();
  job.rethrow_if_failed();
  return r;
}

}  // namespace

TEST_CASE("neighbors: each mode finds a corpus text as its own nearest, the corpus cache is reused and keyed") {
  auto dir = test::tiny_qwen3_text_model();
  auto lm = model::DecoderLM::load(dir);
  auto tok = text::load_tokenizer(dir);
  test::TempDir tmp("neighbors");
  auto corpus = tmp / "corpus.jsonl";
  auto ad_dir = test::random_adapter_dir(*lm, dir, tmp / "adapter", 2, 3);
  auto ad = gen::load_adapter(ad_dir, *lm, dir);
  analysis::NeighborsOptions opt;
  opt.modes = {"generative", "mean", "last", "hyde"};
  opt.top_k = 3;
  auto first = run(*lm, &ad.adapter, *tok, dir, ad.dir, corpus, kCorpus[1], opt);
  REQUIRE(first.per_mode.size() == 4);
  for (const auto& m : first.per_mode) {
    // hyde embeds the corpus as mean does, so it reads the cache mean just wrote.
    CHECK(m.from_cache == (m.mode == "hyde"));
    REQUIRE(m.hits.size() == 3);
    CHECK(fs::exists(m.cache_path));
    for (size_t i = 1; i < m.hits.size(); ++i) CHECK(m.hits[i - 1].similarity >= m.hits[i].similarity);
    // The query is a corpus text, encoded the same way: it is its own nearest, cosine 1
    // (not for hyde, whose query side is a generated answer).
    if (m.mode != "hyde") {
      CHECK(m.hits[0].index == 1);
      CHECK(m.hits[0].similarity == doctest::Approx(1.0).epsilon(1e-5));
    }
  }
  // hyde shares the corpus side with mean (the corpus is embedded as it is).
  CHECK(first.per_mode[3].cache_path == first.per_mode[1].cache_path);
  auto second = run(*lm, &ad.adapter, *tok, dir, ad.dir, corpus, kCorpus[1], opt);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(second.per_mode[i].from_cache);
    for (size_t j = 0; j < 3; ++j) {
      CHECK(second.per_mode[i].hits[j].index == first.per_mode[i].hits[j].index);
      CHECK(second.per_mode[i].hits[j].similarity == doctest::Approx(first.per_mode[i].hits[j].similarity));
    }
  }
  // Another corpus instruction is another key (no stale cache).
  opt.corpus_instruction = "Summarize the following passage: ";
  opt.modes = {"mean"};
  auto third = run(*lm, &ad.adapter, *tok, dir, ad.dir, corpus, kCorpus[1], opt);
  CHECK_FALSE(third.per_mode[0].from_cache);
  CHECK(third.per_mode[0].cache_path != first.per_mode[1].cache_path);
  // generative without an adapter is a clear error.
  opt.modes = {"generative"};
  CHECK_THROWS_WITH_AS(run(*lm, nullptr, *tok, dir, {}, corpus, "x", opt), doctest::Contains("needs --adapter"),
                       genlens::Error);
}

TEST_CASE("encode mode hyde = mean pooling of the answer `generate` writes for the same text") {
  auto dir = test::tiny_qwen3_text_model();
  auto lm = model::DecoderLM::load(dir);
  auto tok = text::load_tokenizer(dir);
  test::TempDir tmp("hyde");
  CHECK(gen::parse_encode_mode("hyde") == gen::EncodeMode::Hyde);
  CHECK(gen::to_string(gen::EncodeMode::Hyde) == "hyde");
  std::vector<std::string> texts = {"why is the sky blue?", "name a fruit"};
  gen::EncodeOptions eo;
  eo.mode = gen::EncodeMode::Hyde;
  eo.hyde_max_new_tokens = 6;
  auto emb = gen::encode_texts(*lm, nullptr, *tok, texts, "", eo);
  REQUIRE(emb.size(0) == 2);
  // The answers, through the `generate` command (chat template, greedy).
  std::string q;
  for (size_t i = 0; i < texts.size(); ++i) q += nlohmann::json{{"id", std::to_string(i)}, {"question", texts[i]}}.dump() + "\n";
  test::write_file(tmp / "q.jsonl", q);
  auto r = test::run_genlens("generate --model " + test::shell_quote(dir.string()) + " --input " +
                             test::shell_quote((tmp / "q.jsonl").string()) + " --output " +
                             test::shell_quote((tmp / "r.jsonl").string()) + " --max-new-tokens 6 -q");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto rows = data::read_responses(tmp / "r.jsonl");
  std::vector<std::string> answers;
  for (const auto& row : rows) answers.push_back(row.answer);
  CHECK(gen::hyde_answers(*lm, *tok, texts, "", eo) == answers);
  eo.mode = gen::EncodeMode::Mean;
  auto mean = gen::encode_texts(*lm, nullptr, *tok, answers, "", eo);
  CHECK((emb - mean).abs().max().item<double>() < 1e-6);
  // encode_ids refuses hyde (it needs the text for the chat template).
  eo.mode = gen::EncodeMode::Hyde;
  CHECK_THROWS_WITH_AS(gen::encode_ids(*lm, nullptr, std::vector<gen::TokenRow>{gen::TokenRow{1, 2}}, eo), doctest::Contains("needs texts"), genlens::Error);
  // The encode command takes it too.
  test::write_file(tmp / "t.jsonl", "{\"text\": \"why is the sky blue?\"}\n");
  auto e = test::run_genlens("encode --model " + test::shell_quote(dir.string()) + " --input " +
                             test::shell_quote((tmp / "t.jsonl").string()) + " --output " +
                             test::shell_quote((tmp / "e.npy").string()) + " --mode hyde -q");
  INFO(e.output);
  CHECK(e.exit_code == 0);
}

TEST_CASE("neighbors CLI: one block per mode, --json, second call from the cache, a long query cut with a warning") {
  auto dir = test::tiny_qwen3_text_model();
  test::TempDir tmp("neighbors-cli");
  std::string c;
  for (const auto& t : kCorpus) c += nlohmann::json{{"text", t}}.dump() + "\n";
  test::write_file(tmp / "c.jsonl", c);
  const std::string base = "neighbors --model " + test::shell_quote(dir.string()) + " --corpus " +
                           test::shell_quote((tmp / "c.jsonl").string()) + " ";
  auto r = test::run_genlens(base + "--query 'Paris is the capital of France.' --top-k 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("mean") != std::string::npos);
  CHECK(r.output.find("last") != std::string::npos);
  auto j = test::run_genlens(base + "--query 'Paris is the capital of France.' --top-k 2 --json");
  INFO(j.output);
  REQUIRE(j.exit_code == 0);
  auto js = nlohmann::json::parse(j.output);
  REQUIRE(js["modes"].size() == 2);
  CHECK(js["modes"][0]["from_cache"] == true);
  CHECK(js["modes"][0]["hits"][0]["index"] == 1);
  auto e = test::run_genlens(base + "--query x --modes generative");
  CHECK(e.exit_code == 1);
  CHECK(e.output.find("needs --adapter") != std::string::npos);
  // A query (and corpus texts) longer than --max-length are cut as encode cuts them, with a warning.
  auto e2 = test::run_genlens(base + "--query 'one two three four' --max-length 2 --no-cache");
  INFO(e2.output);
  CHECK(e2.exit_code == 0);
  CHECK(e2.output.find("warning: neighbors: the query is") != std::string::npos);
  CHECK(e2.output.find("corpus texts were longer than 2 tokens and were cut") != std::string::npos);
}
