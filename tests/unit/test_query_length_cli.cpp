// One query length for every command: the adapter's `query.max_length` (or --max-length)
// cuts the query in encode, lens, decode, neighbors and eval alike, with a warning that
// says how many texts were cut and how to raise the limit.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "core/gen/adapter_meta.h"
#include "core/gen/query_length.h"
#include "core/io/npy.h"
#include "core/model/decoder_lm.h"
#include "core/text/tokenizer.h"
#include "tests/gen_fixtures.h"
#include "tests/lens_fixtures.h"
#include "tests/test_util.h"

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

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("query length: the query length rule and the warning's words") {
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

TEST_CASE("query length: encode, lens, decode, neighbors and eval cut a query at the adapter's length, and say so") {
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
    return test::run_genlens_split("encode " + m + " --input " + test::shell_quote((tmp / "in.jsonl").string()) + " --output " +
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
  auto l = test::run_genlens_split("lens " + m + " --query " + test::shell_quote(kLong) + " --include-tokens --layers -1 --json", tmp.path);
  INFO(l.err);
  REQUIRE(l.exit_code == 0);
  CHECK(has(l.err, "warning: lens: the query " + one8));
  auto lj = Json::parse(l.out);
  CHECK(lj["results"][0]["cells"][0].size() == 8 + 2 + 3);
  auto l2 = test::run_genlens_split("lens " + m + " --query " + test::shell_quote(kLong) + " --include-tokens --layers -1 --json --max-length 100",
                      tmp.path);
  REQUIRE(l2.exit_code == 0);
  CHECK_FALSE(has(l2.err, "warning"));
  CHECK(Json::parse(l2.out)["results"][0]["cells"][0].size() == static_cast<size_t>(n_long + 2 + 3));

  // decode and neighbors: the same rule, the same warning.
  auto d = test::run_genlens_split("decode " + m + " --query " + test::shell_quote(kLong) + " --max-new-tokens 2 --no-answer", tmp.path);
  INFO(d.err);
  REQUIRE(d.exit_code == 0);
  CHECK(has(d.err, "warning: decode: the query " + one8));
  test::write_file(tmp / "corpus.jsonl", Json{{"text", kLong}}.dump() + "\n" + Json{{"text", "a cat"}}.dump() + "\n");
  auto n = test::run_genlens_split("neighbors " + m + " --corpus " + test::shell_quote((tmp / "corpus.jsonl").string()) + " --query " +
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
  auto ev = test::run_genlens_split("eval " + m + " --tasks " + test::shell_quote((tmp / "tasks").string()) + " --modes mean --out " +
                          test::shell_quote((tmp / "eval").string()),
                      tmp.path);
  INFO(ev.err);
  REQUIRE(ev.exit_code == 0);
  CHECK(has(ev.err, "warning: eval: 1 of 8 texts were " + cut8));
}
