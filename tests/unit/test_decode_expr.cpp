// Embedding arithmetic in the compression-state space (core/analysis/embedding_expr.h,
// `genlens decode --expr / --vector / --save-states / --direction`): the parser, that a one-term
// expression and a saved state decode exactly as `decode --query`, the neighbours of a
// decoded point, and errors that name the file and the shapes.
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <sstream>
#include <nlohmann/json.hpp>

#include "core/analysis/embedding_expr.h"
#include "core/gen/checkpoint.h"
#include "core/io/npy.h"
#include "core/model/decoder_lm.h"
#include "core/text/tokenizer.h"
#include "tests/lens_fixtures.h"

using namespace genlens;

TEST_CASE("decode --expr: the parser reads quoted texts, row:N, coefficients and signs") {
  auto t = analysis::parse_embedding_expr(R"( "a cat" - 'the \'cat\'' + 0.5 * row:12 -2*"x")");
  REQUIRE(t.size() == 4);
  CHECK(t[0].text == "a cat");
  CHECK(t[0].coef == 1);
  CHECK_FALSE(t[0].is_row);
  CHECK(t[1].text == "the 'cat'");
  CHECK(t[1].coef == -1);
  CHECK(t[2].is_row);
  CHECK(t[2].row == 12);
  CHECK(t[2].coef == 0.5);
  CHECK(t[3].coef == -2);
  CHECK(analysis::parse_embedding_expr("-'a'")[0].coef == -1);
  for (const char* bad : {"", "'a' 'b'", "'unclosed", "row:", "a + 'b'", "'a' +"}) {
    CAPTURE(bad);
    try {
      analysis::parse_embedding_expr(bad);
      FAIL("expected an error");
    } catch (const std::exception& e) {
      CHECK(std::string(e.what()).find("--expr") != std::string::npos);
    }
  }
}

namespace {

struct DecodeFixture {
  std::filesystem::path dir;
  test::TempDir tmp{"decode-expr"};
  std::filesystem::path adapter_dir;
  std::string base;
  DecodeFixture() {
    dir = test::tiny_qwen3_text_model();
    auto lm = model::DecoderLM::load(dir);
    adapter_dir = test::random_adapter_dir(*lm, dir, tmp / "adapter", 2, 3);
    base = "decode --model " + test::shell_quote(dir.string()) + " --adapter " +
           test::shell_quote(adapter_dir.string()) + " --max-new-tokens 6 --no-answer ";
  }
};

DecodeFixture& fixture() {
  static DecodeFixture f;
  return f;
}

nlohmann::json run_json(const std::string& args) {
  auto r = test::run_genlens(args + " --json");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.output);
}

}  // namespace

TEST_CASE("decode --expr of one query and --vector of its saved states decode exactly as --query") {
  auto& f = fixture();
  const std::string a = "why is the sky blue?";
  auto states = f.tmp / "a.npy";
  auto q = run_json(f.base + "--query " + test::shell_quote(a) + " --save-states " + test::shell_quote(states.string()));
  REQUIRE(q["results"].size() == 1);
  const auto want = q["results"][0]["from_embedding"];
  REQUIRE(want["ids"].size() > 0);

  auto e = run_json(f.base + "--expr " + test::shell_quote("'" + a + "'"));
  REQUIRE(e["results"].size() == 1);
  CHECK(e["results"][0]["from_embedding"]["ids"] == want["ids"]);
  CHECK(e["results"][0]["from_embedding"]["text"] == want["text"]);

  auto saved = io::load_npy(states);
  REQUIRE(saved.dim() == 3);
  CHECK(saved.size(0) == 1);
  CHECK(saved.size(1) == 3);  // the adapter's n_compression
  auto v = run_json(f.base + "--vector " + test::shell_quote(states.string()));
  REQUIRE(v["results"].size() == 1);
  CHECK(v["results"][0]["from_embedding"]["ids"] == want["ids"]);
  // [n_c, H] without the batch axis is read too.
  io::save_npy(f.tmp / "a2.npy", saved[0]);
  auto v2 = run_json(f.base + "--vector " + test::shell_quote((f.tmp / "a2.npy").string()));
  CHECK(v2["results"][0]["from_embedding"]["ids"] == want["ids"]);

  // Arithmetic that cancels returns to A's state: A - B + B decodes as A (up to rounding
  // of the sum, so the states are compared, not the greedy tokens).
  auto lm = model::DecoderLM::load(f.dir);
  auto tok = text::load_tokenizer(f.dir);
  auto ad = gen::load_adapter(f.adapter_dir, *lm, f.dir);
  analysis::DecodeOptions d;
  auto s1 = analysis::expr_soft_prompts(*lm, ad.adapter, *tok, analysis::parse_embedding_expr("'" + a + "'"), {}, "", d);
  CHECK(torch::equal(s1, saved));
  auto s2 = analysis::expr_soft_prompts(*lm, ad.adapter, *tok,
                                        analysis::parse_embedding_expr("'" + a + "' - 'a dog' + 'a dog'"), {}, "", d);
  CHECK((s2 - saved).abs().max().item<double>() < 1e-5);
  auto s3 = analysis::expr_soft_prompts(*lm, ad.adapter, *tok, analysis::parse_embedding_expr("2*'" + a + "'"), {}, "", d);
  CHECK(torch::allclose(s3, 2 * saved));
}

TEST_CASE("decode --expr with row:N of --corpus lists the nearest corpus texts, row N first") {
  auto& f = fixture();
  auto corpus = f.tmp / "corpus.jsonl";
  test::write_file(corpus, R"({"text": "the sky is blue because of scattering"}
{"text": "bake the bread for an hour"}
{"text": "light bends in water"}
)");
  auto j = run_json(f.base + "--expr 'row:1' --top-k 2 --corpus " + test::shell_quote(corpus.string()));
  REQUIRE(j["results"].size() == 1);
  const auto& n = j["results"][0]["neighbors"];
  REQUIRE(n.size() == 2);
  CHECK(n[0]["index"] == 1);
  CHECK(n[0]["similarity"].get<double>() == doctest::Approx(1.0).epsilon(1e-5));
  auto t = test::run_genlens(f.base + "--expr \"row:0 - row:1 + 'light'\" --corpus " + test::shell_quote(corpus.string()));
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
  CHECK(t.output.find("nearest corpus texts") != std::string::npos);
  CHECK(t.output.find("from embedding:") != std::string::npos);
}

TEST_CASE("decode --direction: steering along a labelled group difference equals a NumPy computation") {
  auto& f = fixture();
  auto corpus = f.tmp / "groups.jsonl";
  const std::vector<std::pair<std::string, std::string>> rows = {{"i am so angry at the bus", "anger"},
                                                                 {"this makes me furious", "anger"},
                                                                 {"what a happy sunny day", "joy"},
                                                                 {"i am glad and cheerful", "joy"},
                                                                 {"the train is late", "other"}};
  std::string lines;
  for (const auto& [t, l] : rows) lines += nlohmann::json{{"text", t}, {"label", l}}.dump() + "\n";
  test::write_file(corpus, lines);
  // Each row's state alone (as an expression term computes it), and the query's.
  for (size_t i = 0; i < rows.size(); ++i)
    run_json(f.base + "--query " + test::shell_quote(rows[i].first) + " --save-states " +
             test::shell_quote((f.tmp / fmt::format("row{}.npy", i)).string()));
  const std::string q = "the weather is grey";
  run_json(f.base + "--query " + test::shell_quote(q) + " --save-states " + test::shell_quote((f.tmp / "q.npy").string()));
  const std::string steer = "--corpus " + test::shell_quote(corpus.string()) + " --direction anger:joy ";
  auto j = run_json(f.base + "--query " + test::shell_quote(q) + " " + steer + "--scale 0.5 --add 0.7 --save-states " +
                    test::shell_quote((f.tmp / "steered.npy").string()));
  CHECK(j["results"][0]["query"].get<std::string>().find("steered anger:joy") != std::string::npos);
  const std::string py = R"(
import sys, numpy as np
d = sys.argv[1]
row = lambda i: np.load(f"{d}/row{i}.npy").astype(np.float64)
q = np.load(f"{d}/q.npy").astype(np.float64)
direction = (row(2) + row(3)) / 2 - (row(0) + row(1)) / 2
u = direction.ravel() / np.linalg.norm(direction)
along = q.ravel() @ u
want = (q.ravel() + (0.5 - 1) * along * u + 0.7 * direction.ravel()).reshape(q.shape)
got = np.load(f"{d}/steered.npy").astype(np.float64)
print("max_abs", np.abs(got - want).max(), "scale", np.abs(want).max())
)";
  test::write_file(f.tmp / "steer_ref.py", py);
  auto ref = test::run_command(test::system_python() + " " + test::shell_quote((f.tmp / "steer_ref.py").string()) + " " +
                               test::shell_quote(f.tmp.path.string()));
  INFO(ref.output);
  REQUIRE(ref.exit_code == 0);
  double max_abs = 1, scale = 0;
  std::istringstream(ref.output.substr(ref.output.find("max_abs") + 7)) >> max_abs;
  std::istringstream(ref.output.substr(ref.output.find("scale") + 5)) >> scale;
  CHECK(scale > 0.1);
  CHECK(max_abs < 1e-5 * std::max(1.0, scale));
  // scale 1, add 0 leaves the point where it was: it decodes as the plain query.
  auto plain = run_json(f.base + "--query " + test::shell_quote(q));
  auto still = run_json(f.base + "--query " + test::shell_quote(q) + " " + steer + "--scale 1 --add 0");
  CHECK(still["results"][0]["from_embedding"]["ids"] == plain["results"][0]["from_embedding"]["ids"]);
  // Errors name the flag; an unknown label lists the ones there.
  auto e1 = test::run_genlens(f.base + "--query a --direction anger:joy");
  CHECK(e1.exit_code == 1);
  CHECK(e1.output.find("--corpus") != std::string::npos);
  auto e2 = test::run_genlens(f.base + "--query a --corpus " + test::shell_quote(corpus.string()) +
                              " --direction anger:fear");
  CHECK(e2.exit_code == 1);
  CHECK(e2.output.find("\"fear\" (labels there: anger, joy, other)") != std::string::npos);
  auto e3 = test::run_genlens(f.base + "--query a --add 2");
  CHECK(e3.exit_code == 1);
  CHECK(e3.output.find("--direction") != std::string::npos);
  auto e4 = test::run_genlens(f.base + "--query a --corpus " + test::shell_quote(corpus.string()) + " --direction joy");
  CHECK(e4.exit_code == 1);
  CHECK(e4.output.find("FROM:TO") != std::string::npos);
}

TEST_CASE("decode --expr / --vector: errors name the file, the flag and the shapes") {
  auto& f = fixture();
  auto bad = f.tmp / "wide.npy";
  io::save_npy(bad, torch::zeros({3, 32}));
  auto e1 = test::run_genlens(f.base + "--vector " + test::shell_quote(bad.string()));
  CHECK(e1.exit_code == 1);
  CHECK(e1.output.find("wide.npy") != std::string::npos);
  CHECK(e1.output.find("[3, 64]") != std::string::npos);
  CHECK(e1.output.find("[3, 32]") != std::string::npos);
  auto e2 = test::run_genlens(f.base + "--expr 'row:0'");
  CHECK(e2.exit_code == 1);
  CHECK(e2.output.find("--corpus") != std::string::npos);
  auto e3 = test::run_genlens(f.base + "--expr \"'a' 'b'\"");
  CHECK(e3.exit_code == 1);
  CHECK(e3.output.find("--expr") != std::string::npos);
  auto e4 = test::run_genlens(f.base + "--query a --expr \"'b'\"");
  CHECK(e4.exit_code == 1);
  CHECK(e4.output.find("one of --query, --expr, --vector") != std::string::npos);
  auto e5 = test::run_genlens(f.base);
  CHECK(e5.exit_code == 1);
  CHECK(e5.output.find("--query") != std::string::npos);
}
