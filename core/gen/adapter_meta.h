// genlens.json, the adapter checkpoint's description (docs/ARCHITECTURE.md §6.3): which base model,
// how many special tokens, the teacher, the query settings of training. Parsed and
// validated here without LibTorch, so a downloaded adapter's metadata can be fuzzed on
// its own; every number that later sizes a tensor is bounded before it is used.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace genlens::model {
class DecoderLM;
}

namespace genlens::gen {

struct AdapterShape {
  int64_t n_thought = 10;
  int64_t n_compression = 10;
  int64_t hidden = 0;       // H of the base model
  int64_t teacher_dim = 0;  // D of the teacher's embeddings
  int64_t n_special() const { return n_thought + n_compression; }
  // Reference name of the read-out: the embedding comes from the last n_compression
  // positions ("last_10_tokens" for the default 10 + 10).
  std::string encoding_mode() const { return "last_" + std::to_string(n_compression) + "_tokens"; }
};

inline constexpr int kAdapterFormatVersion = 1;

// Which base model an adapter belongs to. `path` is informative; the check uses the
// architecture (config hash over the fields that shape the network, hidden size, vocab)
// and a weights fingerprint (a few embedding / last-layer / final-norm values rounded
// to bf16, so the same weights loaded as f32 or bf16 match).
struct BaseModelIdentity {
  std::string path;
  std::string model_type;
  int64_t hidden_size = 0;
  int64_t vocab_size = 0;
  int64_t num_hidden_layers = 0;
  std::string config_hash;
  std::string weights_fingerprint;

  // Defined with the checkpoint code (needs the loaded model).
  static BaseModelIdentity of(const model::DecoderLM& lm, const std::filesystem::path& dir);
  nlohmann::json to_json() const;
  static BaseModelIdentity from_json(const nlohmann::json& j, const std::string& source);
  // Throws a genlens::Error naming `source` (the adapter) when `actual` is a different model.
  void check_matches(const BaseModelIdentity& actual, const std::string& source) const;
};

struct AdapterMeta {
  int format_version = kAdapterFormatVersion;
  BaseModelIdentity base;
  AdapterShape shape;
  std::string teacher_kind;   // "mean-pool", "npy"
  std::string teacher_spec;   // as given ("npy:/path/emb.npy")
  std::string dtype = "float32";  // of the adapter tensors
  std::string compute_dtype;      // the LLM's dtype while training ("bfloat16", "float32")
  int64_t query_max_length = 512;
  std::string instruction;        // default query instruction used in training
  int64_t step = 0;
  nlohmann::json training = nlohmann::json::object();  // settings of the run

  nlohmann::json to_json() const;
  static AdapterMeta from_json(const nlohmann::json& j, const std::string& source);
};

}  // namespace genlens::gen
