// The latent lens (core/analysis/latent_index.h, latent_lens.h, ann_index.h): an indexed
// state finds itself first with cosine 1; per-token caps and prefix deduplication; a
// stopped build resumes to the same index; hnswlib recall@10 against exact search on
// 100k entries; clear errors.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/analysis/ann_index.h"
#include "core/analysis/latent_index_state.h"
#include "core/analysis/latent_lens.h"
#include "core/runtime/job.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "tests/lens_fixtures.h"

using namespace genlens;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string>& corpus_texts() {
  static const std::vector<std::string> t = {
      "The sky is blue because air scatters blue light more than red light.",
      "Paris is the capital of France and sits on the Seine.",
      "Bananas are yellow when ripe and green before.",
      "The sky is blue because air scatters blue light more than red light.",  // duplicate: adds nothing
      "A cat sleeps most of the day, a dog less so.",
      "Water boils at one hundred degrees at sea level.",
      "The the the the the the the the the the the the.",                      // hits the per-token cap
      "Light from the sun looks white but holds every colour.",
  };
  return t;
}

fs::path write_corpus(const fs::path& dir) {
  auto p = dir / "corpus.jsonl";
  std::string s;
  for (const auto& t : corpus_texts()) s += nlohmann::json{{"answer", t}}.dump() + "\n";
  test::write_file(p, s);
  return p;
}

analysis::LatentIndexInfo build(const model::DecoderLM& lm, const text::Tokenizer& tok, const fs::path& model_dir,
                                const analysis::LatentIndexSpec& spec) {
  analysis::LatentIndexInfo info;
  runtime::Job job("latent-index",
                   [&](runtime::JobContext& ctx) { info = analysis::build_latent_index(ctx, lm, tok, model_dir, spec); });
  job.run_here();
  job.rethrow_if_failed();
  return info;
}

}  // namespace

TEST_CASE("latent lens: an indexed state returns itself first with cosine 1, caps and dedup hold") {
  auto dir = test::tiny_qwen3_text_model();
  auto lm = model::DecoderLM::load(dir);
  auto tok = text::load_tokenizer(dir);
  test::TempDir tmp("latent");
  analysis::LatentIndexSpec spec;
  spec.corpus = write_corpus(tmp.path);
  spec.out = tmp / "index";
  spec.max_per_token = 3;
  spec.batch_size = 3;
  spec.shard_entries = 40;
  auto info = build(*lm, *tok, dir, spec);
  CHECK(info.complete);
  CHECK(info.has_hnsw);
  CHECK(info.layers == std::vector<int64_t>{1, 2});  // default for a 2-layer model: 1, 2, L-1 in 1..L
  auto index = analysis::LatentIndex::open(spec.out);
  REQUIRE(index->size() == info.n_entries);
  MESSAGE("index: ", info.n_entries, " entries over layers 1, 2 from ", info.n_rows, " rows");

  // Caps and dedup: at most 3 contexts per token id per layer; the duplicate row adds nothing.
  std::map<std::pair<int32_t, int64_t>, int> per_token;
  std::set<int64_t> rows;
  for (int64_t e = 0; e < index->size(); ++e) {
    auto h = index->hit(e, 0);
    CHECK(++per_token[{h.token_id, h.layer}] <= 3);
    rows.insert(h.row);
    CHECK(h.context.size() > 0);
  }
  CHECK(rows.count(3) == 0);
  CHECK(rows.count(0) == 1);

  // Every stored vector finds itself first with cosine 1 (exact and hnsw).
  for (int64_t e : {int64_t{0}, index->size() / 2, index->size() - 1}) {
    auto v = index->vector(e);
    for (auto kind : {analysis::SearchKind::Exact, analysis::SearchKind::Hnsw}) {
      auto hits = index->search(v, 1, 3, -1, kind);
      REQUIRE(!hits[0].empty());
      CHECK(hits[0][0].first == e);
      CHECK(hits[0][0].second == doctest::Approx(1.0).epsilon(1e-5));
    }
  }

  // End to end: the query "The sky is blue" (no adapter: its own tokens) at encoder layer 1,
  // index layer 1, finds for each token its own entry from row 0 with cosine 1.
  analysis::LatentLensOptions lo;
  lo.encoder_layer = 1;
  lo.index_layer = 1;
  lo.top_k = 2;
  lo.search = analysis::SearchKind::Exact;
  auto res = analysis::latent_lens(*lm, nullptr, *tok, *index, "The sky is blue", lo);
  REQUIRE(res.positions.size() == tok->encode("The sky is blue", true).size());
  for (const auto& p : res.positions) {
    REQUIRE(!p.hits.empty());
    CHECK(p.hits[0].similarity == doctest::Approx(1.0).epsilon(1e-5));
    CHECK(p.hits[0].row == 0);
    CHECK(p.hits[0].layer == 1);
    CHECK(p.hits[0].token_id == p.position.token_id);
  }
  CHECK(res.positions[3].hits[0].context == "The sky is blue");

  // With an adapter: thought + compression positions, every hit on the asked layer.
  auto ad_dir = test::random_adapter_dir(*lm, dir, tmp / "adapter", 2, 3);
  auto ad = gen::load_adapter(ad_dir, *lm, dir);
  lo.index_layer = 2;
  lo.encoder_layer = -1;
  auto r2 = analysis::latent_lens(*lm, &ad.adapter, *tok, *index, "why is the sky blue?", lo);
  REQUIRE(r2.positions.size() == 5);
  CHECK(r2.encoder_layer == 2);
  for (const auto& p : r2.positions)
    for (const auto& h : p.hits) CHECK(h.layer == 2);

  // Errors: a layer the index lacks, a layer the model lacks.
  lo.index_layer = 0;
  CHECK_THROWS_WITH_AS(analysis::latent_lens(*lm, nullptr, *tok, *index, "x", lo), doctest::Contains("not in the index"),
                       genlens::Error);
  lo.index_layer = -1;
  lo.encoder_layer = 5;
  CHECK_THROWS_WITH_AS(analysis::latent_lens(*lm, nullptr, *tok, *index, "x", lo), doctest::Contains("layers 0..2"),
                       genlens::Error);
}

TEST_CASE("latent index: a stopped build resumes to the same index") {
  auto dir = test::tiny_qwen3_text_model();
  auto lm = model::DecoderLM::load(dir);
  auto tok = text::load_tokenizer(dir);
  test::TempDir tmp("latent-resume");
  analysis::LatentIndexSpec spec;
  spec.corpus = write_corpus(tmp.path);
  spec.batch_size = 1;
  spec.shard_entries = 8;
  spec.hnsw = false;
  spec.out = tmp / "straight";
  auto straight = build(*lm, *tok, dir, spec);

  // Stop a build part way: cancel as soon as it has indexed rows.
  spec.out = tmp / "resumed";
  {
    runtime::Job job("latent-index", [&](runtime::JobContext& ctx) {
      analysis::build_latent_index(ctx, *lm, *tok, dir, spec);
    });
    job.start();
    for (int i = 0; i < 2000; ++i) {
      auto s = job.snapshot();
      if (s.finished() || (s.stage == "index" && s.done >= 3)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    job.cancel();
    job.wait();
  }
  auto mid = analysis::read_latent_index_info(spec.out);
  if (mid.complete) WARN_MESSAGE(false, "the build finished before it could be stopped; resume not exercised");
  else MESSAGE("stopped with ", mid.n_entries, " entries committed; resuming");
  auto resumed = build(*lm, *tok, dir, spec);
  CHECK(resumed.complete);
  CHECK(resumed.n_entries == straight.n_entries);
  CHECK(test::read_file(tmp / "resumed/entries.jsonl") == test::read_file(tmp / "straight/entries.jsonl"));
  auto a = analysis::LatentIndex::open(tmp / "straight"), b = analysis::LatentIndex::open(tmp / "resumed");
  for (int64_t e = 0; e < a->size(); e += 7) CHECK(a->vector(e) == b->vector(e));
  // Another corpus into the same directory is refused, not mixed in.
  spec.max_per_token = 2;
  CHECK_THROWS_WITH_AS(build(*lm, *tok, dir, spec), doctest::Contains("other settings"), genlens::Error);
}

TEST_CASE("latent index: the corpus field rule, the hnsw layer filter, index.json through its struct") {
  auto dir = test::tiny_qwen3_text_model();
  auto lm = model::DecoderLM::load(dir);
  auto tok = text::load_tokenizer(dir);
  test::TempDir tmp("latent-field");
  // A plain corpus ("text" only): the default field ("answer") falls back to it.
  std::string rows;
  for (const auto& t : corpus_texts()) rows += nlohmann::json{{"text", t}}.dump() + "\n";
  test::write_file(tmp / "plain.jsonl", rows);
  analysis::LatentIndexSpec spec;
  spec.corpus = tmp / "plain.jsonl";
  spec.out = tmp / "index";
  spec.max_per_token = 3;
  auto info = build(*lm, *tok, dir, spec);
  CHECK(info.n_rows == static_cast<int64_t>(corpus_texts().size()));
  // A field the user named is never replaced by another: a row without it is an error
  // naming file:line and the field, and nothing is built.
  spec.field = "body";
  spec.out = tmp / "named";
  CHECK_THROWS_WITH_AS(build(*lm, *tok, dir, spec), doctest::Contains("plain.jsonl:1: no string field \"body\""),
                       genlens::Error);
  CHECK_FALSE(fs::exists(tmp / "named" / "index.json"));

  // The hnsw layer filter: every hit on the asked layer, a stored vector first with cosine 1.
  auto index = analysis::LatentIndex::open(tmp / "index");
  int checked = 0;
  for (int64_t e = 0; e < index->size(); e += 5) {
    const int64_t layer = index->hit(e, 0).layer;
    auto hits = index->search(index->vector(e), 1, 4, layer, analysis::SearchKind::Hnsw);
    REQUIRE(!hits[0].empty());
    CHECK(hits[0][0].first == e);
    for (auto& [h, sim] : hits[0]) CHECK(index->hit(h, sim).layer == layer);
    ++checked;
  }
  CHECK(checked > 3);

  // index.json reads into LatentIndexState and writes back to the same JSON; a field of the
  // wrong type is an error naming the file and the field.
  auto j = nlohmann::json::parse(test::read_file(tmp / "index" / "index.json"));
  CHECK(analysis::LatentIndexState::from_json(j, "index.json").to_json() == j);
  CHECK(analysis::LatentIndexState::from_json(j, "index.json").to_json().dump(1) == j.dump(1));
  j["shards"][0]["n"] = "many";
  CHECK_THROWS_WITH_AS(analysis::LatentIndexState::from_json(j, "index.json"),
                       doctest::Contains("index.json: shards[0].n: expected a whole number"), genlens::Error);
}

TEST_CASE("ann index: hnswlib recall@10 >= 0.95 against exact search on 100k clustered unit vectors") {
  const int64_t n = 100000, dim = 32, nq = 200, k = 10;
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.f, 1.f);
  // 500 clusters (what hidden states of one token in many contexts look like), unit rows.
  std::vector<float> centers(500 * dim);
  for (auto& c : centers) c = g(rng);
  auto make = [&](int64_t rows, std::vector<float>& out) {
    out.resize(static_cast<size_t>(rows * dim));
    for (int64_t i = 0; i < rows; ++i) {
      const auto c = static_cast<int64_t>(rng() % 500);
      double norm = 0;
      for (int64_t d = 0; d < dim; ++d) {
        float v = centers[static_cast<size_t>(c * dim + d)] + 0.35f * g(rng);
        out[static_cast<size_t>(i * dim + d)] = v;
        norm += static_cast<double>(v) * v;
      }
      for (int64_t d = 0; d < dim; ++d) out[static_cast<size_t>(i * dim + d)] /= static_cast<float>(std::sqrt(norm));
    }
  };
  std::vector<float> base, queries;
  make(n, base);
  make(nq, queries);
  analysis::AnnIndex ann(dim, n, 16, 100);
  ann.add_batch(base.data(), n, 0, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  REQUIRE(ann.size() == n);
  auto exact = analysis::exact_topk(base.data(), n, queries.data(), nq, dim, k);
  std::vector<std::vector<std::pair<int64_t, float>>> approx;
  for (int64_t q = 0; q < nq; ++q) approx.push_back(ann.search(queries.data() + q * dim, k, 100));
  const double recall = analysis::recall_at_k(approx, exact, k);
  MESSAGE("hnsw (M=16, ef_construction=100, ef=100) recall@10 vs exact on ", n, " x ", dim, ": ", recall);
  CHECK(recall >= 0.95);
  // Exact search agrees with a direct dot product for the first query.
  double best = -2;
  int64_t arg = -1;
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t d = 0; d < dim; ++d) s += static_cast<double>(base[static_cast<size_t>(i * dim + d)]) * queries[static_cast<size_t>(d)];
    if (s > best) best = s, arg = i;
  }
  CHECK(exact[0][0].first == arg);
  CHECK(exact[0][0].second == doctest::Approx(best).epsilon(1e-5));
}

TEST_CASE("latent CLI: build, query, --json, errors") {
  auto dir = test::tiny_qwen3_text_model();
  test::TempDir tmp("latent-cli");
  auto corpus = write_corpus(tmp.path);
  const std::string m = "--model " + test::shell_quote(dir.string()) + " ";
  auto b = test::run_genlens("latent-index " + m + "--corpus " + test::shell_quote(corpus.string()) + " --out " +
                             test::shell_quote((tmp / "idx").string()) + " --layers 1:2");
  INFO(b.output);
  REQUIRE(b.exit_code == 0);
  CHECK(b.output.find("entries from 8 rows") != std::string::npos);
  auto q = test::run_genlens("latent-lens " + m + "--index " + test::shell_quote((tmp / "idx").string()) +
                             " --query 'blue light' --top-k 2");
  INFO(q.output);
  REQUIRE(q.exit_code == 0);
  CHECK(q.output.find("exact search") != std::string::npos);
  auto j = test::run_genlens("latent-lens " + m + "--index " + test::shell_quote((tmp / "idx").string()) +
                             " --query 'blue light' --top-k 2 --search hnsw --json");
  INFO(j.output);
  REQUIRE(j.exit_code == 0);
  auto js = nlohmann::json::parse(j.output);
  CHECK(js["search"] == "hnsw");
  CHECK(js["positions"][0]["hits"].size() == 2);
  auto e1 = test::run_genlens("latent-lens " + m + "--index " + test::shell_quote((tmp / "none").string()) + " --query x");
  CHECK(e1.exit_code == 1);
  CHECK(e1.output.find("not a latent index") != std::string::npos);
  auto e2 = test::run_genlens("latent-lens " + m + "--index " + test::shell_quote((tmp / "idx").string()) +
                              " --query x --encoder-layer 9");
  CHECK(e2.exit_code == 1);
  CHECK(e2.output.find("--encoder-layer") != std::string::npos);
  auto e3 = test::run_genlens("latent-index " + m + "--corpus " + test::shell_quote(corpus.string()) + " --out " +
                              test::shell_quote((tmp / "idx2").string()) + " --layers 0:5");
  CHECK(e3.exit_code == 1);
  CHECK(e3.output.find("layers 0..2") != std::string::npos);
}
