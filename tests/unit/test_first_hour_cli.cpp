// A newcomer's first hour with the CLI (issue 24, "The CLI and the demo"): one query
// length for every command with a warning when text is cut (10), `lens --track` tracking
// the word and never a lone space piece (11), `neighbors` as one readable block per mode
// (12), eval giving the same numbers for the same inputs (14), the bench naming its shape
// (15), and errors that say what is wrong and what to do (16).
#include <doctest/doctest.h>
#include <dlfcn.h>
#include <nlohmann/json.hpp>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "app/cli/bench_harness.h"
#include "app/cli/text_table.h"
#include "core/analysis/eval.h"
#include "core/analysis/lens.h"
#include "core/analysis/metrics.h"
#include "core/analysis/points_tensor.h"
#include "core/gen/encoder.h"
#include "core/gen/adapter_meta.h"
#include "core/gen/query_length.h"
#include "core/io/atomic_file.h"
#include "core/io/npy.h"
#include "core/model/config.h"
#include "core/text/readable_piece.h"
#include "core/text/spm.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "tests/lens_fixtures.h"
#include "tests/model_fixtures.h"

using namespace genlens;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

const std::string kLong = "one two three four five six seven eight nine ten eleven twelve thirteen";

// A random adapter for the tiny Qwen3 text model whose genlens.json says it was trained
// with queries of `query_len` tokens.
fs::path adapter_with_query_length(const fs::path& model_dir, const fs::path& out, int64_t query_len) {
  auto lm = model::DecoderLM::load(model_dir);
  auto dir = test::random_adapter_dir(*lm, model_dir, out, 2, 3);
  auto meta_path = dir / "genlens.json";
  auto j = Json::parse(test::read_file(meta_path));
  j["query"]["max_length"] = query_len;
  test::write_file(meta_path, j.dump(2));
  return dir;
}

int64_t tokens_of(const fs::path& model_dir, const std::string& text) {
  return static_cast<int64_t>(text::load_tokenizer(model_dir)->encode(text, true).size());
}

// Runs genlens with stdout and stderr apart (JSON on stdout, warnings on stderr).
struct Split {
  int exit_code;
  std::string out, err;
};
Split run_split(const std::string& args, const fs::path& tmp) {
  auto o = tmp / "stdout.txt", e = tmp / "stderr.txt";
  auto r = test::run_genlens(args + " >" + test::shell_quote(o.string()) + " 2>" + test::shell_quote(e.string()));
  return {r.exit_code, test::read_file(o), test::read_file(e)};
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

// ---------------------------------------------------------------------------- 10

TEST_CASE("first_hour 10: the query length rule and the warning's words") {
  gen::AdapterMeta m;
  m.query_max_length = 128;
  CHECK(gen::query_max_length(nullptr) == 512);
  CHECK(gen::query_max_length(&m) == 128);
  CHECK(gen::query_max_length(&m, 300) == 300);
  CHECK(gen::query_max_length(nullptr, 64) == 64);

  gen::QueryCuts c;
  c.max_length = 128;
  for (int i = 0; i < 117; ++i) c.add(20);
  c.add(540);
  c.add(129);
  c.add(300);
  CHECK(c.texts == 120);
  CHECK(c.cut == 3);
  CHECK(gen::cut_warning("encode", c) ==
        "encode: 3 of 120 texts were longer than 128 tokens and were cut (longest 540); --max-length raises the limit");
  gen::QueryCuts one;
  one.max_length = 128;
  one.add(540);
  CHECK(gen::cut_warning("lens", one, "query") ==
        "lens: the query is 540 tokens (instruction + text), more than 128; only its first 128 are used "
        "(--max-length raises the limit)");
  gen::QueryCuts none;
  none.max_length = 128;
  none.add(128);  // exactly the limit: nothing is cut
  CHECK(gen::cut_warning("encode", none).empty());
}

TEST_CASE("first_hour 10: encode, lens, decode, neighbors and eval cut a query at the adapter's length, and say so") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("fh-qlen");
  auto ad = adapter_with_query_length(model, tmp / "adapter", 8);
  const int64_t n_long = tokens_of(model, kLong);
  REQUIRE(n_long > 8);
  const std::string m = "--model " + test::shell_quote(model.string()) + " --adapter " + test::shell_quote(ad.string());
  const std::string cut8 = fmt::format("longer than 8 tokens and were cut (longest {})", n_long);
  const std::string one8 = fmt::format("is {} tokens (instruction + text), more than 8; only its first 8 are used", n_long);

  // encode: the adapter's 8 by default (a warning counts the cut text), --max-length overrides.
  test::write_file(tmp / "in.jsonl", Json{{"text", kLong}}.dump() + "\n" + Json{{"text", "hi there"}}.dump() + "\n");
  auto enc = [&](const std::string& extra, const std::string& out) {
    return run_split("encode " + m + " --input " + test::shell_quote((tmp / "in.jsonl").string()) + " --output " +
                         test::shell_quote((tmp / out).string()) + " " + extra,
                     tmp.path);
  };
  auto e1 = enc("", "a.npy");
  INFO(e1.err);
  REQUIRE(e1.exit_code == 0);
  CHECK(has(e1.err, "warning: encode: 1 of 2 texts were " + cut8 + "; --max-length raises the limit"));
  auto e2 = enc("--max-length 8", "b.npy");
  REQUIRE(e2.exit_code == 0);
  auto e3 = enc("--max-length 100", "c.npy");
  REQUIRE(e3.exit_code == 0);
  CHECK_FALSE(has(e3.err, "warning"));
  auto a = io::load_npy(tmp / "a.npy"), b = io::load_npy(tmp / "b.npy"), c = io::load_npy(tmp / "c.npy");
  CHECK(torch::equal(a, b));                      // the default is the adapter's 8
  CHECK((a[0] - c[0]).abs().max().item<float>() > 1e-5);  // and it cut the long text
  CHECK(torch::equal(a[1], c[1]));                // the short one is whole either way
  auto e4 = enc("-q", "d.npy");
  CHECK_FALSE(has(e4.err, "warning"));            // --quiet: results and errors only

  // lens: the same 8 tokens (positions = 8 ordinary + 2 thought + 3 compression), a warning.
  auto l = run_split("lens " + m + " --query " + test::shell_quote(kLong) + " --include-tokens --layers -1 --json", tmp.path);
  INFO(l.err);
  REQUIRE(l.exit_code == 0);
  CHECK(has(l.err, "warning: lens: the query " + one8));
  auto lj = Json::parse(l.out);
  CHECK(lj["results"][0]["cells"][0].size() == 8 + 2 + 3);
  auto l2 = run_split("lens " + m + " --query " + test::shell_quote(kLong) + " --include-tokens --layers -1 --json --max-length 100",
                      tmp.path);
  REQUIRE(l2.exit_code == 0);
  CHECK_FALSE(has(l2.err, "warning"));
  CHECK(Json::parse(l2.out)["results"][0]["cells"][0].size() == static_cast<size_t>(n_long + 2 + 3));

  // decode and neighbors: the same rule, the same warning.
  auto d = run_split("decode " + m + " --query " + test::shell_quote(kLong) + " --max-new-tokens 2 --no-answer", tmp.path);
  INFO(d.err);
  REQUIRE(d.exit_code == 0);
  CHECK(has(d.err, "warning: decode: the query " + one8));
  test::write_file(tmp / "corpus.jsonl", Json{{"text", kLong}}.dump() + "\n" + Json{{"text", "a cat"}}.dump() + "\n");
  auto n = run_split("neighbors " + m + " --corpus " + test::shell_quote((tmp / "corpus.jsonl").string()) + " --query " +
                         test::shell_quote(kLong) + " --modes generative --top-k 1 --no-cache",
                     tmp.path);
  INFO(n.err);
  REQUIRE(n.exit_code == 0);
  CHECK(has(n.err, "warning: neighbors: the query " + one8));
  CHECK(has(n.err, "warning: neighbors: 1 of 2 corpus texts were " + cut8));

  // eval: the adapter's length too (EvalOptions::max_length 0), the cut texts counted once.
  fs::create_directories(tmp / "tasks" / "sts");
  test::write_file(tmp / "tasks" / "sts" / "task.json", R"({"type": "sts", "name": "sts", "instruction": ""})");
  std::string pairs;
  for (int i = 0; i < 4; ++i)
    pairs += Json{{"text1", i == 0 ? kLong : "a cat " + std::to_string(i)}, {"text2", "a dog " + std::to_string(i)},
                  {"score", i}}.dump() + "\n";
  test::write_file(tmp / "tasks" / "sts" / "pairs.jsonl", pairs);
  auto ev = run_split("eval " + m + " --tasks " + test::shell_quote((tmp / "tasks").string()) + " --modes mean --out " +
                          test::shell_quote((tmp / "eval").string()),
                      tmp.path);
  INFO(ev.err);
  REQUIRE(ev.exit_code == 0);
  CHECK(has(ev.err, "warning: eval: 1 of 8 texts were " + cut8));
}

// ---------------------------------------------------------------------------- 11

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

}  // namespace

TEST_CASE("first_hour 11: lens --track follows the word, never a lone space piece") {
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

// ---------------------------------------------------------------------------- 12

TEST_CASE("first_hour 12: neighbors stacks the modes with ranks and labels, wrapped to --width, --json unchanged") {
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
  auto r = run_split(base + "--width 60", tmp.path);
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
  auto j = run_split(base + "--json", tmp.path);
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

// ---------------------------------------------------------------------------- 14

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

}  // namespace

TEST_CASE("first_hour 14: an embedding does not depend on the batch it was encoded in") {
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

TEST_CASE("first_hour 14: eval's classifier gives the same predictions for embeddings that differ by rounding") {
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

TEST_CASE("first_hour 14: genlens eval gives the same numbers whatever --batch-size") {
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

// ---------------------------------------------------------------------------- 15

TEST_CASE("first_hour 15: the bench names its shape as given (qwen3-0.6b, not qwen3-0)") {
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

// ---------------------------------------------------------------------------- 16

TEST_CASE("first_hour 16: errors say what is wrong and what to do") {
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
