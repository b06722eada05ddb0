// SentencePiece through the dlopen()ed plugin: training a small model, loading it
// (directly and via load_tokenizer, which prefers tokenizer.model), encode/decode,
// offsets, added special tokens, and LibTorch + plugin living in one process.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/text/spm.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace genlens;

namespace {

std::vector<std::string> small_corpus() {
  const char* words[] = {"the", "cat", "sat", "on", "a", "mat", "dog", "ran", "to", "park", "with", "ball",
                         "red", "blue", "green", "small", "big", "happy", "sad", "tree", "house", "river"};
  std::vector<std::string> lines;
  uint32_t x = 12345;
  for (int i = 0; i < 2000; ++i) {
    std::string l;
    int n = 4 + i % 9;
    for (int k = 0; k < n; ++k) {
      x = x * 1664525u + 1013904223u;
      if (k) l += ' ';
      l += words[(x >> 16) % (sizeof(words) / sizeof(words[0]))];
    }
    l += i % 3 ? "." : "!";
    lines.push_back(l);
  }
  return lines;
}

const std::filesystem::path& trained_model_dir() {
  static test::TempDir dir("spm");
  static bool done = false;
  if (!done) {
    text::SpmTrainOptions o;
    o.user_defined_symbols = {"<|user|>", "<|assistant|>"};
    text::train_sentencepiece(small_corpus(), 400, dir / "tokenizer.model", o);
    done = true;
  }
  return dir.path;
}

}  // namespace

TEST_CASE("sentencepiece: train a small model, load it, encode and decode") {
  auto dir = trained_model_dir();
  REQUIRE(std::filesystem::exists(dir / "tokenizer.model"));
  auto t = text::load_tokenizer(dir);
  CHECK(t->backend_name() == "sentencepiece");
  CHECK(t->vocab_size() == 400);
  CHECK(t->bos_id() == 1);
  CHECK(t->eos_id() == 2);
  CHECK(t->unk_id() == 0);
  CHECK_FALSE(t->pad_id().has_value());
  CHECK(t->is_special(1));
  CHECK_FALSE(t->is_special(100));

  std::string s = "the happy dog ran to the river!";
  auto enc = t->encode_with_offsets(s);
  CHECK(enc.ids.size() < s.size());
  REQUIRE(enc.offsets.size() == enc.ids.size());
  CHECK(enc.offsets.front().begin == 0);
  CHECK(enc.offsets.back().end == s.size());
  CHECK(t->decode(enc.ids) == s);
  auto with_bos = t->encode(s, true);
  CHECK(with_bos.front() == 1);
  CHECK(t->decode(with_bos, true) == s);
  CHECK(t->decode(with_bos, false) == "<s>" + s);

  // Byte fallback: unseen characters round-trip; invalid UTF-8 does not crash.
  std::string unseen = "caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80";
  CHECK(t->decode(t->encode(unseen)) == unseen);
  CHECK_NOTHROW(t->encode("bad \xFF\xFE bytes"));
  CHECK(t->decode(t->encode("bad \xFF bytes")) == "bad \xEF\xBF\xBD bytes");
  CHECK(t->decode(t->encode("  two  spaces\n")) == "  two  spaces\n");  // identity normalization

  // User-defined symbols stay whole.
  auto u = t->piece_to_id("<|user|>");
  REQUIRE(u.has_value());
  auto ids = t->encode("<|user|> hi");
  CHECK(std::find(ids.begin(), ids.end(), *u) != ids.end());
  CHECK(t->id_to_piece(*u) == "<|user|>");
  CHECK_FALSE(t->piece_to_id("no-such-piece-xyz").has_value());
}

TEST_CASE("sentencepiece: add_special_token extends the vocabulary") {
  auto t = text::load_sentencepiece(trained_model_dir() / "tokenizer.model");
  auto a = t->add_special_token("<|gl_c0|>");
  CHECK(a == 400);
  CHECK(t->vocab_size() == 401);
  CHECK(t->add_special_token("<|gl_c0|>") == a);
  CHECK(t->is_special(a));
  auto ids = t->encode("the cat<|gl_c0|>");
  CHECK(ids.back() == a);
  CHECK(t->decode(ids, true) == "the cat");
  CHECK(t->decode(ids, false) == "the cat<|gl_c0|>");
}

TEST_CASE("sentencepiece: LibTorch and the plugin work in one process") {
  auto x = torch::arange(6, torch::kFloat32).reshape({2, 3});
  auto t = text::load_tokenizer(trained_model_dir());
  auto ids = t->encode("the cat sat on a mat.");
  auto tensor = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()));
  CHECK(tensor.size(0) == static_cast<int64_t>(ids.size()));
  CHECK(x.sum().item<float>() == 15.0f);
  CHECK_FALSE(text::spm_plugin_path().empty());
  // The genlens executable (LibTorch linked) loads it too.
  auto r = test::run_genlens("tokenize --json --model " + test::shell_quote(trained_model_dir().string()) +
                             " --text 'the red ball'");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("\"backend\":\"sentencepiece\"") != std::string::npos);
}

TEST_CASE("sentencepiece: training and loading errors are clear") {
  test::TempDir dir("spm-err");
  CHECK_THROWS_AS(text::train_sentencepiece(std::vector<std::string>{}, 100, dir / "m.model"), genlens::Error);
  try {
    text::train_sentencepiece(std::vector<std::string>{"a b c", "a b"}, 5000, dir / "m.model");
    FAIL("expected an error");
  } catch (const genlens::Error& e) {
    CHECK(std::string(e.what()).find("m.model") != std::string::npos);
  }
  CHECK_FALSE(std::filesystem::exists(dir / "m.model"));
  test::write_file(dir / "bad" / "tokenizer.model", "not a model");
  CHECK_THROWS_AS(text::load_tokenizer(dir / "bad"), genlens::Error);
}
