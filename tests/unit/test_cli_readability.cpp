// The CLI read by a newcomer: `lens --track` follows the word and never a lone space
// piece, `neighbors` prints one readable block per mode, the bench names its shape as
// given, and errors say what is wrong and what to do.
#include <doctest/doctest.h>
#include <dlfcn.h>
#include <nlohmann/json.hpp>

#include "app/cli/bench_harness.h"
#include "app/cli/text_table.h"
#include "core/analysis/lens.h"
#include "core/model/decoder_lm.h"
#include "core/text/readable_piece.h"
#include "core/text/spm.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "tests/gen_fixtures.h"
#include "tests/model_fixtures.h"
#include "tests/test_util.h"
#include "genlens_paths.h"

using namespace genlens;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// A tiny Llama with a SentencePiece tokenizer that keeps spaces as they are (as the
// demo's and Llama's do): " angry" is "▁" + "▁angry", a lone space piece first.
fs::path spm_model_dir(const fs::path& out) {
  fs::create_directories(out);
  for (auto& e : fs::directory_iterator(test::tiny_model_dir("llama3")))
    if (e.is_regular_file()) fs::copy_file(e.path(), out / e.path().filename());
  std::vector<std::string> lines;
  const char* words[] = {"I", "am", "so", "angry", "happy", "sad", "today", "the", "cat", "is", "very", "calm"};
  uint32_t x = 7;
  for (int i = 0; i < 1500; ++i) {
    std::string l;
    for (int k = 0; k < 3 + i % 6; ++k) {
      x = x * 1664525u + 1013904223u;
      l += (k ? " " : "") + std::string(words[(x >> 16) % 12]);
    }
    lines.push_back(l + ".");
  }
  text::SpmTrainOptions o;
  o.hard_vocab_limit = false;
  text::train_sentencepiece(lines, 300, out / "tokenizer.model", o);
  return out;
}

bool whitespace_only(const text::Tokenizer& tok, int32_t id) {
  auto b = text::piece_bytes(tok.id_to_piece(id), text::piece_scheme(tok));
  return !b.empty() && b.find_first_not_of(" \t\r\n") == std::string::npos;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("lens --track: lens --track follows the word, never a lone space piece") {
  test::TempDir tmp("fh-track");
  auto dir = spm_model_dir(tmp / "model");
  auto tok = text::load_tokenizer(dir);
  auto lm = model::DecoderLM::load(dir);
  // The case that went wrong: the spaced form starts with a piece that is only a space.
  auto spaced = tok->encode(" angry", false);
  REQUIRE(!spaced.empty());
  CHECK(whitespace_only(*tok, spaced[0]));

  analysis::LensOptions o;
  o.track = {"angry", " calm "};
  o.layers = "-1";
  auto r = analysis::logit_lens(*lm, nullptr, *tok, "I am so angry today", o);
  REQUIRE(!r.cells.empty());
  const auto& tracked = r.cells[0].tracked;
  REQUIRE(!tracked.empty());
  bool angry = false, calm = false;
  for (const auto& t : tracked) {
    CAPTURE(t.text);
    CHECK_FALSE(whitespace_only(*tok, t.id));
    CHECK((t.word == "angry" || t.word == "calm"));  // the word as asked, trimmed
    angry |= t.word == "angry";
    calm |= t.word == "calm";
    CHECK(t.n_pieces >= 1);
  }
  CHECK(angry);
  CHECK(calm);

  // The Qwen tokenizer (byte-level BPE): the bare and the spaced piece, both the word.
  auto q = test::tiny_qwen3_text_model();
  auto qtok = text::load_tokenizer(q);
  auto qlm = model::DecoderLM::load(q);
  auto qr = analysis::logit_lens(*qlm, nullptr, *qtok, "I am so angry", o);
  for (const auto& t : qr.cells[0].tracked) CHECK_FALSE(whitespace_only(*qtok, t.id));

  // The table reports the word, then which token stands for it.
  auto cli = test::run_genlens("lens --model " + test::shell_quote(dir.string()) +
                               " --query 'I am so angry today' --track angry --layers -1 --top-k 2");
  INFO(cli.output);
  REQUIRE(cli.exit_code == 0);
  CHECK(has(cli.output, "tracked angry: rank"));
  CHECK_FALSE(has(cli.output, "(·)"));
  CHECK_FALSE(has(cli.output, "token ·)"));
}

TEST_CASE("neighbors: neighbors stacks the modes with ranks and labels, wrapped to --width, --json unchanged") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("fh-neighbors");
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"Paris is the capital of France and has been for a very long time, since the kings.", "capital"},
      {"Bananas are rich in potassium.", "food"},
      {"The sky is blue because of Rayleigh scattering of sunlight in the air.", "science"},
      {"Cats sleep for most of the day.", "animals"}};
  std::string c;
  for (auto& [t, l] : rows) c += Json{{"text", t}, {"label", l}}.dump() + "\n";
  test::write_file(tmp / "c.jsonl", c);
  const std::string base = "neighbors --model " + test::shell_quote(model.string()) + " --corpus " +
                           test::shell_quote((tmp / "c.jsonl").string()) + " --query 'What is the capital of France?' --top-k 4 ";
  auto r = test::run_genlens_split(base + "--width 60", tmp.path);
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(r.out);
  std::string line;
  std::vector<std::string> all;
  while (std::getline(lines, line)) {
    CHECK(cli::display_width(line) <= 60);
    all.push_back(line);
  }
  // One block per mode: its name alone on a line, then a header, then ranked rows.
  auto at = [&](const std::string& s) {
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i].rfind(s, 0) == 0) return static_cast<int>(i);
    return -1;
  };
  const int mean = at("mean"), last = at("last");
  REQUIRE(mean > 0);
  REQUIRE(last > mean);
  CHECK(has(all[static_cast<size_t>(mean + 1)], "rank"));
  CHECK(has(all[static_cast<size_t>(mean + 1)], "label"));
  CHECK(has(all[static_cast<size_t>(mean + 2)], "   1  "));
  // Every label and every word of the long text is there (wrapped, not cut to 18 characters).
  for (auto& [t, l] : rows) CHECK(has(r.out, l));
  for (const char* w : {"Paris", "kings.", "Rayleigh", "sunlight"}) CHECK(has(r.out, w));
  CHECK_FALSE(has(r.out, "…"));

  // The width comes from $COLUMNS when --width is not given.
  auto env = test::run_command("COLUMNS=72 " + test::shell_quote(GENLENS_CLI_PATH) + " " + base + "2>/dev/null");
  REQUIRE(env.exit_code == 0);
  std::istringstream el(env.output);
  size_t widest = 0;
  while (std::getline(el, line)) widest = std::max(widest, cli::display_width(line));
  CHECK(widest <= 72);
  CHECK(widest > 60);

  // --json: the same keys as before (no labels, no layout).
  auto j = test::run_genlens_split(base + "--json", tmp.path);
  REQUIRE(j.exit_code == 0);
  auto js = Json::parse(j.out);
  REQUIRE(js["modes"].size() == 2);
  for (auto& m : js["modes"])
    for (auto& h : m["hits"]) {
      std::vector<std::string> keys;
      for (auto it = h.begin(); it != h.end(); ++it) keys.push_back(it.key());
      CHECK(keys == std::vector<std::string>{"index", "similarity", "text"});
    }

  // The wrap helper: words kept whole, a word wider than a line cut, nothing lost.
  auto w = cli::wrap("alpha beta gamma delta", 11);
  CHECK(w == std::vector<std::string>{"alpha beta", "gamma delta"});
  CHECK(cli::wrap("abcdefghij", 4) == std::vector<std::string>{"abcd", "efgh", "ij"});
  CHECK(cli::wrap("", 10).size() == 1);
  CHECK(cli::terminal_width(55) == 55);
}

TEST_CASE("bench: the bench names its shape as given (qwen3-0.6b, not qwen3-0)") {
  CHECK(cli::bench::shape_name("qwen3-0.6b") == "qwen3-0.6b");
  CHECK(cli::bench::shape_name("llama-3.2-1b") == "llama-3.2-1b");
  CHECK(cli::bench::shape_name("") == "custom");
  CHECK(cli::bench::shape_name("/models/Qwen3-0.6B/config.json") == "Qwen3-0.6B");
  CHECK(cli::bench::shape_name("shapes/my-1.5b.json") == "my-1.5b");
  // What to_json writes as "model" (a real run of the 0.6b shape writes ~650 MB of random
  // weights, too much for a unit test): the preset as given, and it still loads.
  cli::bench::Spec spec;
  spec.shape = "qwen3-0.6b";
  CHECK(spec.config().hidden_size == 1024);
  CHECK(cli::bench::shape_name(spec.shape) == "qwen3-0.6b");
}

TEST_CASE("CLI errors: errors say what is wrong and what to do") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("fh-errors");
  const std::string nowhere = (tmp / "no-such-model").string();

  // A wrong --model path: "no such directory", whichever command and loader meets it first.
  for (const std::string cmd :
       {"lens --query x", "encode --input x.jsonl --output y.npy --mode mean", "tokenize --text hi"}) {
    auto r = test::run_genlens(cmd + " --model " + test::shell_quote(nowhere));
    INFO(cmd << ": " << r.output);
    CHECK(r.exit_code == 1);
    CHECK(has(r.output, nowhere + ": no such directory"));
    CHECK_FALSE(has(r.output, "found nothing"));
  }
  CHECK_THROWS_WITH_AS(model::ModelConfig::from_dir(nowhere), doctest::Contains("no such directory"), Error);
  test::write_file(tmp / "a-file", "x");
  CHECK_THROWS_WITH_AS(text::load_tokenizer(tmp / "a-file"), doctest::Contains("is a file, not a directory"), Error);

  // decode without --adapter explains what an adapter is and where one comes from.
  auto d = test::run_genlens("decode --model " + test::shell_quote(model.string()) + " --query x");
  INFO(d.output);
  CHECK(d.exit_code == 2);
  CHECK(has(d.output, "genlens decode: error: --adapter is required (Adapter checkpoint or training run directory)"));
  CHECK(has(d.output, "genlens train --out RUN"));
  CHECK(has(d.output, "genlens demo --out WS"));
  CHECK(has(d.output, "genlens decode --help"));
  // ... and so does any other missing option (with its own help).
  auto e = test::run_genlens("encode --model " + test::shell_quote(model.string()) + " --output y.npy");
  INFO(e.output);
  CHECK(e.exit_code == 2);
  CHECK(has(e.output, "genlens encode: error: --input is required (Texts JSONL"));

  // --device cuda where there is none: a CPU-only LibTorch says so.
  if (!torch::cuda::is_available()) {
    auto c = test::run_genlens("encode --model " + test::shell_quote(model.string()) +
                               " --input x.jsonl --output y.npy --mode mean --device cuda");
    INFO(c.output);
    CHECK(c.exit_code == 1);
    void* cuda_lib = ::dlopen("libtorch_cuda.so", RTLD_LAZY | RTLD_NOLOAD);
    if (cuda_lib) {
      ::dlclose(cuda_lib);
      CHECK(has(c.output, "no GPU is visible"));
    } else {
      CHECK(has(c.output, "this genlens is built with a CPU-only LibTorch: use --device cpu"));
    }
  }
}
