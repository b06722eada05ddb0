// Tiny random checkpoints for the model tests, written by `genlens init-model` from the
// shipped configs (vocab cut to 512 so each is a few hundred KB), once per process.
// --init-std 0.1 makes attention visibly non-uniform and --perturb makes norm weights
// and biases non-trivial, so a dropped bias or a misplaced norm changes the logits.
#pragma once
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>

#include "core/model/decoder_lm.h"
#include "tests/test_util.h"

namespace genlens::test {

// family -> shipped config
inline const std::map<std::string, std::string>& family_configs() {
  static const std::map<std::string, std::string> m{
      {"llama3", "tiny-llama3"},       {"llama3-untied", "tiny-llama3-untied"},
      {"qwen2", "tiny-qwen2"},         {"qwen3", "tiny-qwen3"},
      {"qwen3-untied", "tiny-qwen3-untied"}, {"llama2", "tiny-llama2"},
      {"mistral", "tiny-mistral"}};
  return m;
}
// The families every model test runs on (llama2 / mistral: reference test only).
inline const char* const kFamilies[] = {"llama3", "llama3-untied", "qwen2", "qwen3", "qwen3-untied"};

inline std::string init_model_args(const std::string& family, const std::filesystem::path& out,
                                   const std::string& extra = "") {
  auto cfg = source_dir() / "assets/configs" / (family_configs().at(family) + ".json");
  return "init-model --config " + shell_quote(cfg.string()) + " --out " + shell_quote(out.string()) +
         " --vocab-size 512 --init-std 0.1 --perturb --seed 7 " + extra;
}

// A model directory for `family` (created on first use, removed at exit).
inline std::filesystem::path tiny_model_dir(const std::string& family, const std::string& extra = "") {
  static TempDir root("models");
  static std::map<std::string, std::filesystem::path> made;
  std::string key = family + "|" + extra;
  auto it = made.find(key);
  if (it != made.end()) return it->second;
  auto dir = root / (family + "-" + std::to_string(made.size()));
  auto r = run_genlens(init_model_args(family, dir, extra));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  made[key] = dir;
  return dir;
}

inline std::shared_ptr<model::DecoderLM> tiny_model(const std::string& family,
                                                    torch::ScalarType dtype = torch::kFloat32,
                                                    const std::string& extra = "") {
  return model::DecoderLM::load(tiny_model_dir(family, extra), torch::kCPU, dtype);
}

}  // namespace genlens::test
