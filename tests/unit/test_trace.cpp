// Causal tracing (core/analysis/trace.h, `genlens trace`) on a tiny Qwen3 with a random
// adapter: the forward from inside the stack equals the full forward, the patching
// identities (from A itself nothing moves; every input position from B gives B's
// embedding), the batched trace against one cell at a time through a plain full forward
// (layer 0) and through the start-layer forward, the noise mode, the CLI and its errors.
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "core/analysis/lens.h"
#include "core/analysis/layer_state.h"
#include "core/analysis/trace.h"
#include "core/gen/checkpoint.h"
#include "core/gen/encoder.h"
#include "core/model/decoder_lm.h"
#include "core/text/tokenizer.h"
#include "tests/lens_fixtures.h"

using namespace genlens;
using torch::Tensor;

namespace {

struct Fixture : test::AdapterModel {
  std::vector<int32_t> ids(const std::string& text) const {
    analysis::LensOptions lo;
    return analysis::lens_query_ids(*tok, text, lo);
  }
  // The embedding as `encode` makes it.
  Tensor embed(const std::vector<int32_t>& row) const {
    gen::EncodeOptions eo;
    return gen::encode_ids(*lm, &adapter.adapter, {gen::TokenRow(row.begin(), row.end())}, eo)[0];
  }
  std::string cli_base() const { return command("trace"); }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

const char* kA = "the cat sat on the warm mat";
const char* kB = "the dog ran in the cold park";  // as many tokens as kA (checked)
const char* kLong = "a much longer question about the weather over the mountains this weekend";

double max_abs(const Tensor& a, const Tensor& b) { return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>(); }

}  // namespace

TEST_CASE("trace: the forward from inside the stack (start_layer) equals the full forward, bit for bit") {
  auto& f = fixture();
  const auto ids = f.ids(kA);
  auto st = analysis::query_states(*f.lm, &f.adapter.adapter, ids);
  const auto& hs = st.out.hidden_states;
  const int64_t L = f.lm->config().num_hidden_layers;
  REQUIRE(static_cast<int64_t>(hs.size()) == L + 1);
  const Tensor e = f.embed(ids);
  for (int64_t l = 0; l <= L; ++l) {
    CAPTURE(l);
    model::ForwardOptions fo;
    fo.start_layer = l;
    auto out = f.lm->forward(hs[static_cast<size_t>(l)], torch::ones({1, hs[0].size(1)}, torch::kLong), fo);
    CHECK(torch::equal(out.last_hidden, st.out.last_hidden));
    // Patching A's cells from A itself: the embedding is A's, exactly.
    CHECK(torch::equal(analysis::embedding_from_layer(*f.lm, f.adapter.adapter, hs[static_cast<size_t>(l)], l)[0], e));
  }
  model::ForwardOptions bad;
  bad.start_layer = L + 1;
  CHECK_THROWS_WITH_AS(f.lm->forward(hs[0], torch::ones({1, hs[0].size(1)}, torch::kLong), bad),
                       doctest::Contains("start_layer must be 0 to"), std::exception);
}

TEST_CASE("trace: every input position patched from B at the input layer gives B's embedding") {
  auto& f = fixture();
  const auto a = f.ids(kA), b = f.ids(kB);
  REQUIRE(a.size() == b.size());
  auto sb = analysis::query_states(*f.lm, &f.adapter.adapter, b);
  auto sa = analysis::query_states(*f.lm, &f.adapter.adapter, a);
  Tensor stream = sa.out.hidden_states[0].clone();
  const int64_t T = static_cast<int64_t>(a.size());
  stream.narrow(1, 0, T).copy_(sb.out.hidden_states[0].narrow(1, 0, T));  // the special rows are the same in both
  CHECK(max_abs(analysis::embedding_from_layer(*f.lm, f.adapter.adapter, stream, 0)[0], f.embed(b)) <= 1e-5);
}

TEST_CASE("trace: the batched trace equals one cell at a time (a full forward at layer 0, start_layer above)") {
  auto& f = fixture();
  for (const char* contrast : {kB, kLong}) {
    CAPTURE(contrast);
    analysis::TraceOptions to;
    to.contrast = contrast;
    to.batch_size = 5;  // several chunks per layer, the last one short
    auto r = analysis::causal_trace(*f.lm, f.adapter.adapter, *f.tok, kA, to);
    const auto a = f.ids(kA), b = f.ids(contrast);
    const bool aligned = a.size() == b.size();
    const int64_t n_special = f.adapter.adapter.shape().n_special();
    CHECK(r.mode == "contrast");
    CHECK(r.positions.size() == (aligned ? a.size() : 0) + static_cast<size_t>(n_special));
    CHECK(r.notes.empty() == aligned);
    CHECK(r.layers.size() == static_cast<size_t>(f.lm->config().num_hidden_layers + 1));
    CHECK(r.forwards == static_cast<int64_t>(r.layers.size()) * ((static_cast<int64_t>(r.positions.size()) + 4) / 5));

    auto sa = analysis::query_states(*f.lm, &f.adapter.adapter, a);
    auto sb = analysis::query_states(*f.lm, &f.adapter.adapter, b);
    const Tensor ea = f.embed(a), eb = f.embed(b);
    const int64_t Ta = sa.out.hidden_states[0].size(1), Tb = sb.out.hidden_states[0].size(1);
    double worst = 0;
    for (size_t li = 0; li < r.layers.size(); ++li) {
      const int64_t l = r.layers[li];
      for (size_t p = 0; p < r.positions.size(); ++p) {
        const int64_t at = r.positions[p].index, from = at + (Tb - Ta);
        Tensor stream = sa.out.hidden_states[static_cast<size_t>(l)].clone();
        stream[0][at].copy_(sb.out.hidden_states[static_cast<size_t>(l)][0][from]);
        Tensor e;
        if (l == 0) {
          // Layer 0 is the input: a plain forward of the patched input embeddings.
          auto out = f.lm->forward(stream, torch::ones({1, Ta}, torch::kLong));
          const int64_t nc = f.adapter.adapter.shape().n_compression;
          e = gen::embedding_of(f.adapter.adapter,
                                gen::soft_prompts_of(f.adapter.adapter, out.last_hidden.narrow(1, Ta - nc, nc)));
        } else {
          e = analysis::embedding_from_layer(*f.lm, f.adapter.adapter, stream, l);
        }
        const double cos_p = torch::nn::functional::cosine_similarity(e, eb.unsqueeze(0)).item<double>();
        const double cos_0 = torch::nn::functional::cosine_similarity(ea.unsqueeze(0), eb.unsqueeze(0)).item<double>();
        const double want = (cos_p - cos_0) / (1 - cos_0);
        worst = std::max(worst, std::abs(r.effect[li][p] - want));
      }
    }
    CHECK(worst <= 1e-5);
    // The strongest cell is the largest effect, and its text was decoded.
    const auto top = r.top_cells(3);
    REQUIRE(top.size() == 3);
    CHECK(top[0].effect >= top[1].effect);
    CHECK(r.strongest.layer == top[0].layer);
    CHECK(r.strongest.position == top[0].position);
    CHECK(r.positions.back().label == "C3");
  }
}

TEST_CASE("trace: noise mode corrupts the named words and the clean cells restore them") {
  auto& f = fixture();
  analysis::TraceOptions to;
  to.noise_words = {"warm"};
  to.seed = 7;
  auto r = analysis::causal_trace(*f.lm, f.adapter.adapter, *f.tok, kA, to);
  CHECK(r.mode == "noise");
  REQUIRE_FALSE(r.noised.empty());
  std::string noised;
  for (auto& t : r.noised) noised += t;
  CHECK(noised.find("warm") != std::string::npos);
  // At the input layer, restoring a token that was not corrupted changes nothing; restoring
  // the corrupted one is the whole way back (only it differs from the clean run there).
  const auto ids = f.ids(kA);
  for (size_t p = 0; p < ids.size(); ++p) {
    const bool is_noised = std::find(r.noised.begin(), r.noised.end(), r.positions[p].label) != r.noised.end();
    CAPTURE(r.positions[p].label);
    if (r.noised.size() == 1 && is_noised) CHECK(r.effect[0][p] == doctest::Approx(1.0).epsilon(1e-4));
    if (!is_noised) CHECK(std::abs(r.effect[0][p]) <= 1e-5);
  }
  // Another seed, other noise.
  to.seed = 8;
  auto r2 = analysis::causal_trace(*f.lm, f.adapter.adapter, *f.tok, kA, to);
  CHECK(r2.cos_base_source != r.cos_base_source);

  to.noise_words = {"zebra"};
  CHECK_THROWS_WITH_AS(analysis::causal_trace(*f.lm, f.adapter.adapter, *f.tok, kA, to),
                       doctest::Contains("--noise-words: \"zebra\" is not a word of the query"), std::exception);
}

TEST_CASE("trace CLI: heatmap table, JSON shape, and errors that name the flag") {
  auto& f = fixture();
  auto r = test::run_genlens(f.cli_base() + "--query " + test::shell_quote(kA) + " --contrast " + test::shell_quote(kB));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find(" layer") != std::string::npos);
  CHECK(r.output.find("strongest cells:") != std::string::npos);
  CHECK(r.output.find("decoded  base:") != std::string::npos);
  {  // the cost said before it starts: 3 layers x (7 special + A's tokens), 32 rows a forward
    const size_t P = 7 + f.ids(kA).size();
    CHECK(r.output.find(fmt::format("trace: 3 layers x {} positions = {} cells, in {} forwards of up to 32 rows", P,
                                    3 * P, 3 * ((P + 31) / 32))) != std::string::npos);
  }

  auto j = test::run_genlens(f.cli_base() + "--json --quiet --no-input-positions --layers 1:2 --query " +
                             test::shell_quote(kA) + " --contrast " + test::shell_quote(kLong));
  INFO(j.output);
  REQUIRE(j.exit_code == 0);
  auto doc = nlohmann::json::parse(j.output);
  CHECK(doc["layers"] == nlohmann::json::array({1, 2}));
  CHECK(doc["positions"].size() == 7);  // 3 thought + 4 compression
  CHECK(doc["positions"][0] == "T0");
  CHECK(doc["effect"].size() == 2);
  CHECK(doc["effect"][0].size() == 7);
  CHECK(doc["strongest"].contains("decoded"));

  {  // --corpus: the nearest corpus text of the base and of the source are A and B themselves
    test::TempDir tmp("trace-corpus");
    test::write_file(tmp / "c.jsonl", nlohmann::json({{"text", kLong}, {"label", "weather"}}).dump() + "\n" +
                                          nlohmann::json({{"text", kA}, {"label", "cat"}}).dump() + "\n" +
                                          nlohmann::json({{"text", kB}, {"label", "dog"}}).dump() + "\n");
    auto c = test::run_genlens(f.cli_base() + "--json --quiet --no-input-positions --query " + test::shell_quote(kA) +
                               " --contrast " + test::shell_quote(kB) + " --corpus " +
                               test::shell_quote((tmp / "c.jsonl").string()));
    INFO(c.output);
    REQUIRE(c.exit_code == 0);
    auto cj = nlohmann::json::parse(c.output);
    CHECK(cj["nearest_base"]["index"] == 1);
    CHECK(cj["nearest_base"]["label"] == "cat");
    CHECK(cj["nearest_base"]["similarity"].get<double>() == doctest::Approx(1.0).epsilon(1e-5));
    CHECK(cj["nearest_source"]["index"] == 2);
    CHECK(cj["nearest_source"]["label"] == "dog");
    CHECK(cj["nearest_strongest"].contains("text"));
    auto t = test::run_genlens(f.cli_base() + "--no-input-positions --query " + test::shell_quote(kA) + " --contrast " +
                               test::shell_quote(kB) + " --corpus " + test::shell_quote((tmp / "c.jsonl").string()));
    CHECK(t.output.find("nearest corpus text (generative space):") != std::string::npos);
    CHECK(t.output.find("[cat] the cat sat on the warm mat") != std::string::npos);
  }
  auto e1 = test::run_genlens(f.cli_base() + "--query " + test::shell_quote(kA) + " --layers 9");
  CHECK(e1.exit_code != 0);
  CHECK(e1.output.find("--layers") != std::string::npos);
  auto e2 = test::run_genlens(f.cli_base() + "--query " + test::shell_quote(kA) + " --noise-words zebra");
  CHECK(e2.exit_code != 0);
  CHECK(e2.output.find("--noise-words: \"zebra\"") != std::string::npos);
  auto e3 = test::run_genlens(f.cli_base() + "--query x --contrast y --noise-words x");
  CHECK(e3.exit_code != 0);
  CHECK(e3.output.find("excludes") != std::string::npos);
}
