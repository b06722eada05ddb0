// Model ids found in the local Hugging Face cache (core/model/hf_cache.h), offline as
// transformers does with HF_HUB_OFFLINE=1: a cache tree laid out exactly as huggingface_hub
// writes it (blobs/<etag>, snapshots/<commit>/<file> -> ../../blobs/<etag>, refs/<branch>)
// around a tiny Qwen3 with the real tokenizer; hits through each root variable, revisions,
// misses, broken links, and the real CLI with the variables set on its command line.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "app/cli/command.h"
#include "core/io/npy.h"
#include "core/model/decoder_lm.h"
#include "core/model/hf_cache.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "tests/gen_fixtures.h"
#include "genlens_paths.h"

using namespace genlens;
namespace fs = std::filesystem;

namespace {

const std::string kRepo = "test-org/tiny-qwen3";
const std::string kFolder = "models--test-org--tiny-qwen3";
const std::string kCommitA = "1f4b9c0d2e3a4b5c6d7e8f901234567890abcdef";  // main
const std::string kCommitB = "abcd1234aa5c6d7e8f9012345678901234567890";  // dev
const std::string kCommitC = "abcd5678bb5c6d7e8f9012345678901234567890";  // no branch, same 4-char prefix as B

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

// The root variables, cleared for the test and restored after it.
struct EnvGuard {
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  EnvGuard() {
    for (const char* n : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HOME"}) {
      const char* v = std::getenv(n);
      saved.emplace_back(n, v ? std::optional<std::string>(v) : std::nullopt);
      if (std::string(n) != "HOME") ::unsetenv(n);
    }
  }
  ~EnvGuard() {
    for (auto& [n, v] : saved) {
      if (v) ::setenv(n.c_str(), v->c_str(), 1);
      else ::unsetenv(n.c_str());
    }
  }
  void set(const char* n, const fs::path& v) { ::setenv(n, v.string().c_str(), 1); }
  void unset(const char* n) { ::unsetenv(n); }
};

// A stand-in etag: 64 hex digits (an LFS sha256) for weights, 40 (a git blob sha1) else.
std::string etag_of(const std::string& content, bool lfs) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : content) h = (h ^ c) * 1099511628211ull;
  std::string out;
  while (out.size() < (lfs ? 64u : 40u)) {
    out += fmt::format("{:016x}", h);
    h = h * 6364136223846793005ull + 1442695040888963407ull;
  }
  return out.substr(0, lfs ? 64 : 40);
}

// Adds `model_dir`'s files to the cache under `root` as snapshot `commit`, as
// huggingface_hub lays them out; `branches` get refs/<branch> files naming the commit.
// Returns the snapshot directory.
fs::path add_to_cache(const fs::path& root, const fs::path& model_dir, const std::string& commit,
                      const std::vector<std::string>& branches) {
  const auto repo = root / kFolder;
  const auto snap = repo / "snapshots" / commit;
  fs::create_directories(snap);
  fs::create_directories(repo / "blobs");
  fs::create_directories(repo / "refs");
  for (auto& e : fs::directory_iterator(model_dir)) {
    if (!e.is_regular_file()) continue;
    const auto content = test::read_file(e.path());
    const auto etag = etag_of(content, e.path().extension() == ".safetensors");
    if (!fs::exists(repo / "blobs" / etag)) fs::copy_file(e.path(), repo / "blobs" / etag);
    fs::create_symlink(fs::path("../../blobs") / etag, snap / e.path().filename());
  }
  for (auto& b : branches) test::write_file(repo / "refs" / b, commit);  // no newline, as huggingface_hub writes
  return snap;
}

// The blob behind one of the snapshot's links.
fs::path blob_of(const fs::path& link) { return (link.parent_path() / fs::read_symlink(link)).lexically_normal(); }

// tokenize --json without the "model" field (the directory it read).
nlohmann::json tokens_of(const std::string& out) {
  auto j = nlohmann::json::parse(out);
  j.erase("model");
  return j;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// `genlens ARGS` with only the given root variables set (the others removed from its environment).
test::RunResult genlens_with(const std::string& env, const std::string& args, const std::string& cd = "") {
  return test::run_command((cd.empty() ? "" : "cd " + q(cd) + " && ") +
                           "env -u HF_HUB_CACHE -u HUGGINGFACE_HUB_CACHE -u HF_HOME -u XDG_CACHE_HOME " + env + " " +
                           test::shell_quote(GENLENS_CLI_PATH) + " " + args);
}

}  // namespace

TEST_CASE("hf_cache: repo ids, and the cache root from HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME or HOME") {
  for (const char* id : {"Qwen/Qwen3-0.6B", "gpt2", "McGill-NLP/LLM2Vec-Gen-Qwen3-8B", "a_b/c.d-e"})
    CHECK_MESSAGE(model::is_hf_repo_id(id), id);
  for (const char* id : {"", "/abs/dir", "./model", "../m", "a/b/c", "org/", "/name", "x--y", "a..b", "-a", "a.",
                         "org/na me", "org/name@main", "~/models/x"})
    CHECK_MESSAGE(!model::is_hf_repo_id(id), id);
  CHECK(!model::is_hf_repo_id(std::string(97, 'a')));

  EnvGuard env;
  env.set("HOME", "/home/someone");
  auto r = model::hf_cache_root();
  CHECK(r.dir == fs::path("/home/someone/.cache/huggingface/hub"));
  CHECK(has(r.why, "HOME=/home/someone"));
  CHECK(has(r.why, "HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME and XDG_CACHE_HOME are unset"));
  env.set("XDG_CACHE_HOME", "/xdg");
  CHECK(model::hf_cache_root().dir == fs::path("/xdg/huggingface/hub"));
  env.set("HF_HOME", "~/hf");  // expanded as Python's expanduser does
  r = model::hf_cache_root();
  CHECK(r.dir == fs::path("/home/someone/hf/hub"));
  CHECK(has(r.why, "HF_HOME=~/hf"));
  env.set("HUGGINGFACE_HUB_CACHE", "/old-name");
  CHECK(model::hf_cache_root().dir == fs::path("/old-name"));
  env.set("HF_HUB_CACHE", "/hub");
  r = model::hf_cache_root();
  CHECK(r.dir == fs::path("/hub"));
  CHECK(has(r.why, "$HF_HUB_CACHE=/hub"));
  env.set("HF_HUB_CACHE", "");  // set but empty counts as unset
  CHECK(model::hf_cache_root().dir == fs::path("/old-name"));
}

TEST_CASE("hf_cache: an id resolves to its snapshot through HF_HUB_CACHE, HF_HOME and the HOME default") {
  const auto model_dir = test::tiny_qwen3_text_model();
  test::TempDir tmp("hf-cache-hit");
  EnvGuard env;
  struct Case {
    const char* name;
    fs::path root;
  };
  for (const Case& c : {Case{"HF_HUB_CACHE", tmp / "hub-cache"}, Case{"HF_HOME", tmp / "hf-home" / "hub"},
                        Case{"HOME", tmp / "home" / ".cache" / "huggingface" / "hub"}}) {
    CAPTURE(c.name);
    env.unset("HF_HUB_CACHE");
    env.unset("HF_HOME");
    if (std::string(c.name) == "HF_HUB_CACHE") env.set("HF_HUB_CACHE", c.root);
    if (std::string(c.name) == "HF_HOME") env.set("HF_HOME", tmp / "hf-home");
    if (std::string(c.name) == "HOME") env.set("HOME", tmp / "home");
    const auto snap = add_to_cache(c.root, model_dir, kCommitA, {"main"});
    auto loc = model::locate_model(kRepo);
    CHECK(loc.from_hf_cache());
    CHECK(loc.repo_id == kRepo);
    CHECK(loc.revision == "main");
    CHECK(loc.commit == kCommitA);
    CHECK(loc.dir == fs::absolute(snap));
    CHECK(has(loc.describe(), kRepo + " (revision main = " + kCommitA + ") -> "));
    CHECK(fs::is_symlink(loc.dir / "config.json"));  // really the links, read through
    // The loaders read the snapshot's links as they read a plain directory.
    auto lm = model::DecoderLM::load(loc.dir);
    auto ref = model::DecoderLM::load(model_dir);
    CHECK(lm->config().hidden_size == ref->config().hidden_size);
    for (auto& [name, t] : ref->named_parameters()) {
      bool same = false;
      for (auto& [n2, t2] : lm->named_parameters())
        if (n2 == name) same = torch::equal(t, t2);
      CHECK_MESSAGE(same, name);
    }
    auto tok = text::load_tokenizer(loc.dir);
    CHECK(tok->encode("The capital of France") == text::load_tokenizer(model_dir)->encode("The capital of France"));
  }
}

TEST_CASE("hf_cache: --revision picks a branch, a commit hash or a unique prefix of one, and so does ID@REV") {
  const auto model_dir = test::tiny_qwen3_text_model();
  test::TempDir tmp("hf-cache-rev");
  EnvGuard env;
  const auto root = tmp / "hub";
  env.set("HF_HUB_CACHE", root);
  const auto a = add_to_cache(root, model_dir, kCommitA, {"main"});
  const auto b = add_to_cache(root, model_dir, kCommitB, {"dev"});
  const auto c = add_to_cache(root, model_dir, kCommitC, {});
  CHECK(model::locate_model(kRepo).dir == a);
  CHECK(model::locate_model(kRepo, "main").dir == a);
  auto dev = model::locate_model(kRepo, "dev");
  CHECK(dev.dir == b);
  CHECK(dev.commit == kCommitB);
  CHECK(dev.revision == "dev");
  CHECK(model::locate_model(kRepo, kCommitC).dir == c);          // a commit hash: a snapshot folder
  CHECK(model::locate_model(kRepo, kCommitC.substr(0, 7)).dir == c);  // a unique prefix
  CHECK(model::locate_model(kRepo + "@dev").dir == b);
  CHECK(model::locate_model(kRepo + "@" + kCommitA).dir == a);
  CHECK(model::locate_model(kRepo + "@dev", "dev").dir == b);

  auto ambiguous = error_of([&] { model::locate_model(kRepo, "abcd"); });
  CHECK(has(ambiguous, "ambiguous"));
  CHECK(has(ambiguous, kCommitB));
  CHECK(has(ambiguous, kCommitC));
  auto twice = error_of([&] { model::locate_model(kRepo + "@dev", "main"); });
  CHECK(has(twice, "two revisions"));
  // A revision only means something for a cached id, not for a local directory.
  auto local = error_of([&] { model::locate_model(model_dir.string(), "dev"); });
  CHECK(has(local, "--revision dev"));
  CHECK(has(local, "local path"));
  CHECK(has(error_of([&] { model::locate_model(kRepo, "../../etc"); }), "not a branch name or commit hash"));
}

TEST_CASE("hf_cache: a miss lists every place it looked and says genlens never downloads") {
  const auto model_dir = test::tiny_qwen3_text_model();
  test::TempDir tmp("hf-cache-miss");
  EnvGuard env;
  const auto root = tmp / "hub";
  env.set("HF_HUB_CACHE", root);
  add_to_cache(root, model_dir, kCommitA, {"main"});
  auto msg = error_of([&] { model::locate_model("Qwen/Qwen3-0.6B"); });
  INFO(msg);
  CHECK(has(msg, "--model Qwen/Qwen3-0.6B: no such local directory"));
  CHECK(has(msg, (fs::current_path() / "Qwen/Qwen3-0.6B").string()));            // the local directory
  CHECK(has(msg, (fs::absolute(root) / "models--Qwen--Qwen3-0.6B").string()));   // the cache's folder
  CHECK(has(msg, "chosen by $HF_HUB_CACHE=" + root.string()));                    // why that root
  CHECK(has(msg, "holds 1 model: " + kRepo));                                     // what the cache has
  CHECK(has(msg, "genlens never downloads"));
  CHECK(has(msg, "`huggingface-cli download Qwen/Qwen3-0.6B`"));
  CHECK(has(msg, "point --model at a model directory"));

  // The default root, and one that does not exist.
  env.unset("HF_HUB_CACHE");
  env.set("HOME", tmp / "nobody");
  msg = error_of([&] { model::locate_model("gpt2", "", "--lora"); });
  INFO(msg);
  CHECK(has(msg, "--lora gpt2: no such local directory"));
  CHECK(has(msg, (tmp / "nobody/.cache/huggingface/hub/models--gpt2").string()));
  CHECK(has(msg, "HOME=" + (tmp / "nobody").string()));
  CHECK(has(msg, "HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME and XDG_CACHE_HOME are unset"));
  CHECK(has(msg, "cache root " + (tmp / "nobody/.cache/huggingface/hub").string() +
                     ", chosen by ~/.cache/huggingface/hub with HOME=" + (tmp / "nobody").string() +
                     "; HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME and XDG_CACHE_HOME are unset: does not exist"));
  CHECK(has(msg, "never downloads"));

  // Text that is no repo id is left to the loader (whose error names it), as before.
  CHECK(model::locate_model("/nonexistent/model").dir == fs::path("/nonexistent/model"));
  CHECK(model::locate_model("./model").dir == fs::path("./model"));
  CHECK_FALSE(model::locate_model("./model").from_hf_cache());
}

TEST_CASE("hf_cache: an unknown revision lists the revisions the cache has") {
  const auto model_dir = test::tiny_qwen3_text_model();
  test::TempDir tmp("hf-cache-unknown-rev");
  EnvGuard env;
  const auto root = tmp / "hub";
  env.set("HF_HUB_CACHE", root);
  add_to_cache(root, model_dir, kCommitA, {"main"});
  add_to_cache(root, model_dir, kCommitB, {"dev"});
  auto msg = error_of([&] { model::locate_model(kRepo, "v2.0"); });
  INFO(msg);
  CHECK(has(msg, "revision \"v2.0\" is not in the Hugging Face cache"));
  CHECK(has(msg, "main (= " + kCommitA + ")"));
  CHECK(has(msg, "dev (= " + kCommitB + ")"));
  CHECK(has(msg, kCommitA + " (main)"));
  CHECK(has(msg, "never downloads"));
  CHECK(has(msg, "huggingface-cli download " + kRepo + " --revision v2.0"));
  // A branch whose snapshot is not there (an interrupted download).
  test::write_file(root / kFolder / "refs" / "stale", "0000000000000000000000000000000000000000");
  msg = error_of([&] { model::locate_model(kRepo, "stale"); });
  INFO(msg);
  CHECK(has(msg, "refs/stale"));
  CHECK(has(msg, "no snapshot"));
  CHECK(has(msg, kCommitA));
}

TEST_CASE("hf_cache: a broken snapshot link is a clear error naming the file and the missing blob") {
  const auto model_dir = test::tiny_qwen3_text_model();
  test::TempDir tmp("hf-cache-broken");
  EnvGuard env;
  const auto root = tmp / "hub";
  env.set("HF_HUB_CACHE", root);
  const auto snap = add_to_cache(root, model_dir, kCommitA, {"main"});
  const auto blob = blob_of(snap / "model.safetensors");
  fs::remove(blob);
  auto msg = error_of([&] { model::locate_model(kRepo); });
  INFO(msg);
  CHECK(has(msg, "snapshot " + snap.string() + " is broken"));
  CHECK(has(msg, "model.safetensors is a link to ../../blobs/" + blob.filename().string() + ", which is missing"));
  CHECK(has(msg, blob.string()));
  CHECK(has(msg, "huggingface-cli download " + kRepo));
  CHECK(has(msg, "never downloads"));
  CHECK_FALSE(has(msg, "config.json"));
  // huggingface_hub downloads into blobs/<etag>.incomplete first.
  test::write_file(blob.string() + ".incomplete", "partial");
  msg = error_of([&] { model::locate_model(kRepo); });
  CHECK(has(msg, blob.filename().string() + ".incomplete is there: the download was interrupted"));
  // config.json too: the same error, not "config.json missing".
  fs::remove(blob_of(snap / "config.json"));
  msg = error_of([&] { model::locate_model(kRepo); });
  CHECK(has(msg, "is a link to ../../blobs/"));

  // Through the CLI: exit code 1 and the same message, no crash.
  auto r = genlens_with("HF_HUB_CACHE=" + q(root), "forward --model " + kRepo + " --ids 1,2,3");
  INFO(r.output);
  CHECK(r.exit_code == cli::kFailure);
  CHECK(has(r.output, "genlens forward: error: --model " + kRepo + " (revision main = " + kCommitA + ")"));
  CHECK(has(r.output, "which is missing"));
}

TEST_CASE("hf_cache: the CLI resolves ids (tokenize, forward, --revision, HF_HOME), a local directory wins") {
  const auto model_dir = test::tiny_qwen3_text_model();
  test::TempDir tmp("hf-cache-cli");
  const auto root = tmp / "hub";
  add_to_cache(root, model_dir, kCommitA, {"main"});
  const auto b = add_to_cache(root, model_dir, kCommitB, {"dev"});
  const std::string env = "HF_HUB_CACHE=" + q(root);

  auto local = test::run_genlens("tokenize --json --model " + q(model_dir) + " --text 'hi there' 2>/dev/null");
  REQUIRE(local.exit_code == 0);
  auto cached = genlens_with(env, "tokenize --json --model " + kRepo + " --text 'hi there' 2>/dev/null");
  INFO(cached.output);
  CHECK(cached.exit_code == 0);
  CHECK(tokens_of(cached.output) == tokens_of(local.output));
  CHECK(nlohmann::json::parse(cached.output)["model"] ==
        (fs::absolute(root) / kFolder / "snapshots" / kCommitA).string());  // the snapshot it read
  // The note on stderr says what was loaded; -q drops it.
  auto noted = genlens_with(env, "tokenize --model " + kRepo + " --text hi --revision dev");
  INFO(noted.output);
  CHECK(noted.exit_code == 0);
  CHECK(has(noted.output, "--model " + kRepo + " (revision dev = " + kCommitB + ") -> " + b.string()));
  auto quiet = genlens_with(env, "-q tokenize --model " + kRepo + " --text hi");
  CHECK(quiet.exit_code == 0);
  CHECK_FALSE(has(quiet.output, "revision main"));

  // forward from a commit (ID@REV) through HF_HOME gives the local directory's logits.
  fs::create_directories(tmp / "hf-home");
  fs::create_symlink(root, tmp / "hf-home" / "hub");
  REQUIRE(test::run_genlens("forward --model " + q(model_dir) + " --ids 1,2,3 --output " + q(tmp / "local.npy"))
              .exit_code == 0);
  auto fwd = genlens_with("HF_HOME=" + q(tmp / "hf-home"),
                          "forward --model " + kRepo + "@" + kCommitB.substr(0, 8) + " --ids 1,2,3 --output " +
                              q(tmp / "cached.npy"));
  INFO(fwd.output);
  REQUIRE(fwd.exit_code == 0);
  CHECK(torch::equal(io::load_npy(tmp / "local.npy"), io::load_npy(tmp / "cached.npy")));

  // Misses: exit code 1 with the places looked at; an unknown revision lists the known ones.
  auto miss = genlens_with(env, "tokenize --model nobody/nothing --text hi");
  INFO(miss.output);
  CHECK(miss.exit_code == cli::kFailure);
  CHECK(has(miss.output, "genlens tokenize: error: --model nobody/nothing: no such local directory"));
  CHECK(has(miss.output, "models--nobody--nothing"));
  CHECK(has(miss.output, "genlens never downloads"));
  auto rev = genlens_with(env, "tokenize --model " + kRepo + " --revision v9 --text hi");
  CHECK(rev.exit_code == cli::kFailure);
  CHECK(has(rev.output, "main (= " + kCommitA + ")"));
  // --revision with a local directory is refused; local paths that are no id are unchanged.
  CHECK(genlens_with(env, "tokenize --model " + q(model_dir) + " --revision dev --text hi").exit_code ==
        cli::kFailure);
  auto nowhere = genlens_with(env, "tokenize --model /nonexistent --text x");
  CHECK(nowhere.exit_code == cli::kFailure);
  CHECK_FALSE(has(nowhere.output, "never downloads"));

  // A local directory named like the id wins, even over a broken cache entry.
  fs::remove(blob_of(b / "tokenizer.json"));
  fs::create_directories(tmp / "work" / "test-org");
  fs::copy(model_dir, tmp / "work" / kRepo);
  auto wins = genlens_with(env, "tokenize --json --model " + kRepo + " --text 'hi there'", (tmp / "work").string());
  INFO(wins.output);
  CHECK(wins.exit_code == 0);
  CHECK(tokens_of(wins.output) == tokens_of(local.output));
  CHECK(nlohmann::json::parse(wins.output)["model"] == kRepo);  // the local directory, as given; no note on stderr
  auto broken = genlens_with(env, "tokenize --model " + kRepo + "@dev --text hi");
  CHECK(broken.exit_code == cli::kFailure);
  CHECK(has(broken.output, "tokenizer.json is a link to"));
}

TEST_CASE("hf_cache: train records the snapshot it loaded as the base model's path") {
  const auto model_dir = test::tiny_qwen3_text_model();
  test::TempDir tmp("hf-cache-train");
  const auto root = tmp / "hub";
  const auto snap = add_to_cache(root, model_dir, kCommitA, {"main"});
  std::string rows;
  for (int i = 0; i < 4; ++i)
    rows += nlohmann::json{{"id", std::to_string(i)},
                           {"question", "Question number " + std::to_string(i) + "?"},
                           {"answer", "Answer number " + std::to_string(i) + " is short."}}
                .dump() +
            "\n";
  test::write_file(tmp / "responses.jsonl", rows);
  auto r = genlens_with("HF_HUB_CACHE=" + q(root), "train --quiet --model " + kRepo + " --data " +
                                                       q(tmp / "responses.jsonl") + " --out " + q(tmp / "run") +
                                                       " --steps 1 --batch-size 2 --thought 1 --compression 1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto meta = nlohmann::json::parse(test::read_file(tmp / "run" / "checkpoint-1" / "genlens.json"));
  CHECK(meta["base_model"]["path"] == fs::weakly_canonical(snap).string());
  CHECK(has(meta["base_model"]["path"].get<std::string>(), kFolder + "/snapshots/" + kCommitA));
}

TEST_CASE("hf_cache: --lora values and --teacher llm2vec:BASE+LORA parts resolve (the options' glue)") {
  const auto model_dir = test::tiny_qwen3_text_model();
  test::TempDir tmp("hf-cache-glue");
  EnvGuard env;
  const auto root = tmp / "hub";
  env.set("HF_HUB_CACHE", root);
  const auto a = add_to_cache(root, model_dir, kCommitA, {"main"});
  const auto b = add_to_cache(root, model_dir, kCommitB, {"dev"});
  CLI::App app;
  std::string model, teacher;
  std::vector<std::string> loras;
  cli::pending_model_inputs().clear();
  cli::add_model_option(app, "--model", model, "m");
  cli::add_model_option(app, "--lora", loras, "l");
  cli::resolve_teacher_ids(app.add_option("--teacher", teacher), teacher);
  auto inputs = std::move(cli::pending_model_inputs());
  cli::pending_model_inputs().clear();
  REQUIRE(inputs.size() == 3);
  const std::string plain = "/no/such/lora";
  std::vector<std::string> args = {"--teacher", "llm2vec:" + kRepo + "+" + kRepo + "@dev+" + plain,
                                   "--lora",    kRepo + "@dev",
                                   "--lora",    plain,
                                   "--revision", "dev",
                                   "--model",   kRepo};
  std::reverse(args.begin(), args.end());  // CLI11 parses a vector from its back
  app.parse(args);
  for (auto& in : inputs) in.resolve();
  CHECK(model == b.string());
  CHECK(loras == std::vector<std::string>{b.string(), plain});
  CHECK(teacher == "llm2vec:" + a.string() + "+" + b.string() + "+" + plain);
}
