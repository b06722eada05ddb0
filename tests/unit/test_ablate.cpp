// Ablation of the special tokens (core/analysis/ablate.h, `genlens ablate`) on a tiny
// Qwen3 with a random adapter: the position specs, the identity (the query's own states
// put back change nothing, bit for bit), zero and mean ablation against the plain-PyTorch
// reference (tests/reference/llm2vec_gen_ref.py on the exported checkpoint, its own mean),
// the batched per-position importance against single ablations, the CLI and its errors.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/analysis/ablate.h"
#include "core/analysis/layer_state.h"
#include "core/analysis/lens.h"
#include "core/analysis/trace.h"
#include "core/gen/checkpoint.h"
#include "core/io/npy.h"
#include "core/model/decoder_lm.h"
#include "core/text/tokenizer.h"
#include "tests/lens_fixtures.h"

using namespace genlens;
using torch::Tensor;
namespace fs = std::filesystem;

namespace {

struct Fixture : test::AdapterModel {
  std::vector<int32_t> ids(const std::string& text) const {
    analysis::LensOptions lo;
    lo.instruction = adapter.meta.instruction;
    return analysis::lens_query_ids(*tok, text, lo);
  }
  analysis::AblateOptions options() const {
    analysis::AblateOptions o;
    o.instruction = adapter.meta.instruction;
    o.decode_tokens = 4;
    return o;
  }
  std::string cli_base() const { return command("ablate"); }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

const char* kQuery = "the cat sat on the warm mat";
const std::vector<std::string> kCorpus = {"the dog ran in the cold park", "a bird sang", "rain over the hills today",
                                          "what is the capital of france"};

Tensor as_tensor(const std::vector<float>& v) { return torch::tensor(v); }

double max_abs(const Tensor& a, const Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

test::RunResult pyref(const std::string& args) {
  auto script = test::source_dir() / "tests/reference/llm2vec_gen_ref.py";
  return test::run_command(test::system_python() + " " + test::shell_quote(script.string()) + " " + args);
}

}  // namespace

TEST_CASE("ablate: position specs name thought and compression tokens, bad ones name --positions") {
  using analysis::parse_special_positions;
  CHECK(parse_special_positions("special", 3, 4) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(parse_special_positions("thought", 3, 4) == std::vector<int64_t>{0, 1, 2});
  CHECK(parse_special_positions("compression", 3, 4) == std::vector<int64_t>{3, 4, 5, 6});
  CHECK(parse_special_positions("C2,T1,C0:C1,C2", 3, 4) == std::vector<int64_t>{1, 3, 4, 5});
  CHECK(parse_special_positions("c3", 0, 4) == std::vector<int64_t>{3});
  CHECK_THROWS_WITH_AS(parse_special_positions("C4", 3, 4), doctest::Contains("--positions: 'C4' is out of range"),
                       std::exception);
  CHECK_THROWS_WITH_AS(parse_special_positions("T0", 0, 4), doctest::Contains("C0..C3 (no thought tokens)"),
                       std::exception);
  CHECK_THROWS_WITH_AS(parse_special_positions("thought", 0, 4), doctest::Contains("no thought tokens"), std::exception);
  CHECK_THROWS_WITH_AS(parse_special_positions("T1:C2", 3, 4), doctest::Contains("within T or within C"),
                       std::exception);
  CHECK_THROWS_WITH_AS(parse_special_positions("C2:C0", 3, 4), doctest::Contains("is empty"), std::exception);
  CHECK_THROWS_WITH_AS(parse_special_positions("C0,,C1", 3, 4), doctest::Contains("an empty item"), std::exception);
  CHECK_THROWS_WITH_AS(parse_special_positions("X1", 3, 4), doctest::Contains("'X1' is not a position label"),
                       std::exception);
  CHECK_THROWS_WITH_AS(analysis::parse_ablation_kind("noise"), doctest::Contains("--kind"), std::exception);
}

TEST_CASE("ablate: putting the query's own states back changes nothing, bit for bit") {
  auto& f = fixture();
  const auto& ad = f.adapter.adapter;
  const Tensor own = analysis::special_states(*f.lm, ad, *f.tok, kQuery, f.adapter.meta.instruction, 512);
  CHECK(own.sizes() == torch::IntArrayRef({f.lm->config().num_hidden_layers + 1, 7, f.lm->config().hidden_size}));
  for (const char* layers : {"all", "0", "1:2"}) {
    const std::string at = layers;
    CAPTURE(at);
    auto o = f.options();
    o.kind = analysis::AblationKind::Mean;
    o.layers = layers;
    o.importance = false;
    auto r = analysis::ablate(*f.lm, ad, *f.tok, kQuery, o, own, "own");
    CHECK(torch::equal(as_tensor(r.embedding_ablated), as_tensor(r.embedding)));
    CHECK(r.decoded_ablated == r.decoded);
  }
  // A zero ablation does move it, and the replacement's shape is checked.
  auto o = f.options();
  auto z = analysis::ablate(*f.lm, ad, *f.tok, kQuery, o);
  CHECK(z.cosine < 0.999);
  o.kind = analysis::AblationKind::Mean;
  CHECK_THROWS_WITH_AS(analysis::ablate(*f.lm, ad, *f.tok, kQuery, o, own.narrow(1, 0, 3), "x"),
                       doctest::Contains("replacement states must be [3, 7, 64]"), std::exception);
}

TEST_CASE("ablate: zero and mean ablation equal the plain-PyTorch reference on the exported checkpoint") {
  auto& f = fixture();
  const auto& ad = f.adapter.adapter;
  test::TempDir tmp("ablate-ref");
  auto exp = test::run_genlens("export llm2vec-gen --model " + test::shell_quote(f.dir.string()) + " --adapter " +
                               test::shell_quote(f.adapter_dir.string()) + " --out " +
                               test::shell_quote((tmp / "official").string()));
  INFO(exp.output);
  REQUIRE(exp.exit_code == 0);
  test::write_file(tmp / "ids.json", nlohmann::json(std::vector<std::vector<int32_t>>{f.ids(kQuery)}).dump());
  std::vector<std::vector<int32_t>> corpus_ids;
  for (const auto& t : kCorpus) corpus_ids.push_back(f.ids(t));
  test::write_file(tmp / "corpus_ids.json", nlohmann::json(corpus_ids).dump());
  const Tensor mean = analysis::mean_special_states(*f.lm, ad, *f.tok, kCorpus, f.adapter.meta.instruction, 512);

  struct Case {
    analysis::AblationKind kind;
    const char *positions, *layers, *ref_positions, *ref_layers;
  };
  for (const Case& c : {Case{analysis::AblationKind::Zero, "C0:C1", "1", "3,4", "1"},
                        Case{analysis::AblationKind::Zero, "T2,C3", "0,2", "2,6", "0,2"},
                        Case{analysis::AblationKind::Mean, "special", "all", "0,1,2,3,4,5,6", "0,1,2"},
                        Case{analysis::AblationKind::Mean, "C1", "-1", "4", "2"}}) {
    const std::string label = std::string(c.positions) + " at " + c.layers;
    CAPTURE(label);
    auto o = f.options();
    o.kind = c.kind;
    o.positions = c.positions;
    o.layers = c.layers;
    const bool is_mean = c.kind == analysis::AblationKind::Mean;
    auto r = analysis::ablate(*f.lm, ad, *f.tok, kQuery, o, is_mean ? mean : Tensor(), "corpus mean");
    auto ref = pyref("encode --model " + test::shell_quote(f.dir.string()) + " --checkpoint " +
                     test::shell_quote((tmp / "official").string()) + " --ids " +
                     test::shell_quote((tmp / "ids.json").string()) + " --out " +
                     test::shell_quote((tmp / "ref.npy").string()) + " --ablate-positions " + c.ref_positions +
                     " --ablate-layers " + c.ref_layers +
                     (is_mean ? " --ablate-mean-ids " + test::shell_quote((tmp / "corpus_ids.json").string()) : ""));
    INFO(ref.output);
    REQUIRE(ref.exit_code == 0);
    const Tensor want = io::load_npy(tmp / "ref.npy")[0];
    const double d = max_abs(as_tensor(r.embedding_ablated), want);
    MESSAGE("ablate ", label, ": max |genlens - reference| = ", d, ", cosine to original ", r.cosine);
    CHECK(d < 1e-5);
    CHECK(r.cosine < 0.99999);  // the ablation did something
  }
  // A thought token after the last layer feeds nothing: the embedding reads the compression positions only.
  auto o = f.options();
  o.kind = analysis::AblationKind::Mean;
  o.positions = "thought";
  o.layers = "-1";
  auto r = analysis::ablate(*f.lm, ad, *f.tok, kQuery, o, mean, "corpus mean");
  CHECK(torch::equal(as_tensor(r.embedding_ablated), as_tensor(r.embedding)));
}

TEST_CASE("ablate: the batched per-position importance equals each position ablated alone") {
  auto& f = fixture();
  const auto& ad = f.adapter.adapter;
  auto o = f.options();
  o.positions = "T1,C0:C3";
  o.layers = "1:2";
  o.batch_size = 2;  // several forwards, the last one short
  auto r = analysis::ablate(*f.lm, ad, *f.tok, kQuery, o);
  REQUIRE(r.importance.size() == 5);
  CHECK(r.forwards == 3);  // 6 rows (all together + 5 alone) in batches of 2
  CHECK(r.positions[0].label == "T1");
  CHECK(r.positions[4].label == "C3");
  for (size_t i = 0; i < r.positions.size(); ++i) {
    CAPTURE(r.positions[i].label);
    auto one = o;
    one.positions = r.positions[i].label;
    one.importance = false;
    auto s = analysis::ablate(*f.lm, ad, *f.tok, kQuery, one);
    CHECK(std::abs(r.importance[i] - (1 - s.cosine)) < 1e-6);
  }
}

TEST_CASE("ablate: one cell replaced by B's state is the causal trace's patch of that cell from B") {
  // The studio's "patch from B" is an ablation whose replacement is B's special states;
  // the trace patches the same cell by its own batched path (core/analysis/trace.cpp).
  auto& f = fixture();
  const auto& ad = f.adapter.adapter;
  const std::string b = "what is the capital of france";
  analysis::TraceOptions to;
  to.instruction = f.adapter.meta.instruction;
  to.contrast = b;
  to.input_positions = false;
  to.decode_tokens = 4;
  const auto t = analysis::causal_trace(*f.lm, ad, *f.tok, kQuery, to);
  REQUIRE(t.strongest.layer >= 0);
  const std::string label = t.positions[t.strongest.position].label;
  CAPTURE(label);
  CAPTURE(t.strongest.layer);
  const Tensor rep = analysis::special_states(*f.lm, ad, *f.tok, b, f.adapter.meta.instruction, 512);
  auto o = f.options();
  o.kind = analysis::AblationKind::Resample;
  o.positions = label;
  o.layers = std::to_string(t.strongest.layer);
  o.importance = false;
  const auto r = analysis::ablate(*f.lm, ad, *f.tok, kQuery, o, rep, "B");
  CHECK(max_abs(as_tensor(r.embedding_ablated), as_tensor(t.embedding_strongest)) < 1e-5);
  CHECK(max_abs(as_tensor(r.embedding), as_tensor(t.embedding_base)) < 1e-5);
}

TEST_CASE("ablate CLI: table, JSON with neighbours, the mean cached beside the corpus, errors that name the flag") {
  auto& f = fixture();
  test::TempDir tmp("ablate-cli");
  std::string lines;
  for (const auto& t : kCorpus) lines += nlohmann::json({{"text", t}}).dump() + "\n";
  const fs::path corpus = tmp / "corpus.jsonl";
  test::write_file(corpus, lines);
  const std::string q = "--query " + test::shell_quote(kQuery) + " ";

  auto t = test::run_genlens(f.cli_base() + q + "--positions compression --layers 1:2 --max-new-tokens 4");
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
  CHECK(t.output.find("ablated (zero): C0 C1 C2 C3") != std::string::npos);
  CHECK(t.output.find("at the stream entering layers 1,2") != std::string::npos);
  CHECK(t.output.find("cosine to the original embedding:") != std::string::npos);
  CHECK(t.output.find("importance of each position alone") != std::string::npos);

  const std::string mean = f.cli_base() + q + "--kind mean --corpus " + test::shell_quote(corpus.string()) +
                           " --top-k 2 --max-new-tokens 4 --json --quiet";
  auto j1 = test::run_genlens(mean);
  INFO(j1.output);
  REQUIRE(j1.exit_code == 0);
  auto doc = nlohmann::json::parse(j1.output);
  CHECK(doc["kind"] == "mean");
  CHECK(doc["positions"].size() == 7);
  CHECK(doc["importance"].size() == 7);
  CHECK(doc["neighbors"].size() == 2);
  CHECK(doc["neighbors_ablated"].size() == 2);
  CHECK(doc["replacement"].get<std::string>().find("cached in") != std::string::npos);
  auto j2 = test::run_genlens(mean);
  REQUIRE(j2.exit_code == 0);
  auto doc2 = nlohmann::json::parse(j2.output);
  CHECK(doc2["replacement"].get<std::string>().find("from the cache") != std::string::npos);
  CHECK(doc2["cosine"].get<double>() == doc["cosine"].get<double>());

  auto rs = test::run_genlens(f.cli_base() + q + "--kind resample --seed 1 --corpus " +
                              test::shell_quote(corpus.string()) + " --json --quiet --no-importance");
  INFO(rs.output);
  REQUIRE(rs.exit_code == 0);
  auto rdoc = nlohmann::json::parse(rs.output);
  CHECK(rdoc["replacement"].get<std::string>().find("the states of corpus row") != std::string::npos);
  CHECK_FALSE(rdoc.contains("importance"));

  test::TempDir clean("ablate-cli-err");
  const fs::path corpus2 = clean / "corpus.jsonl";
  test::write_file(corpus2, lines);
  struct Bad {
    std::string args, says;
  };
  for (const Bad& b : {Bad{"--positions C9", "--positions: 'C9' is out of range"},
                       Bad{"--layers 7", "--layers: layer 7 is out of range"},
                       Bad{"--kind mean", "--kind mean: needs --corpus"},
                       Bad{"--kind mean --positions Z --corpus " + test::shell_quote(corpus2.string()), "--positions"}}) {
    CAPTURE(b.args);
    auto e = test::run_genlens(f.cli_base() + q + b.args);
    CHECK(e.exit_code != 0);
    CHECK(e.output.find(b.says) != std::string::npos);
  }
  CHECK_FALSE(fs::exists(corpus2.string() + ".genlens-cache"));  // nothing written on failure
}
