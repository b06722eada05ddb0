// ModelConfig from an HF config.json (+ generation_config.json for EOS ids).
// Supported model_type: llama, qwen2, qwen3, mistral. An unsupported type or field
// value is a clear error naming the file and field, never a silent default.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace genlens::model {

struct RopeScaling {
  std::string type;  // "" (none), "llama3", "linear"
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  std::string model_type;  // llama | qwen2 | qwen3 | mistral
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;  // hidden_size / heads unless config.json gives head_dim
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  int64_t max_position_embeddings = 2048;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // qwen2: q/k/v have bias
  bool qk_norm = false;         // qwen3: per-head RMSNorm on q and k
  bool o_proj_bias = false;     // llama/qwen3 attention_bias=true: o_proj has bias too
  bool mlp_bias = false;        // llama mlp_bias
  int64_t sliding_window = 0;   // mistral: attend to at most this many positions; 0 = off
  std::string torch_dtype;      // as written in config.json ("bfloat16", ...)
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;  // config.json and generation_config.json, merged
  std::optional<int64_t> pad_token_id;
  // The directory from_dir() read (empty otherwise): lets code that only holds the
  // model find its tokenizer and chat template (HyDE in encode_texts).
  std::filesystem::path source_dir;

  static ModelConfig from_json_file(const std::filesystem::path& config_json);
  // `source` names the text in errors (a path, or "<string>").
  static ModelConfig from_json_string(const std::string& text, const std::string& source = "<string>");
  static ModelConfig from_dir(const std::filesystem::path& model_dir);  // + generation_config.json
  std::string to_json_string() const;  // HF config.json shape (init-model writes it)
  std::string generation_config_json() const;  // generation_config.json (bos/eos/pad)
  // Checks sizes and divisibility; throws naming `source` and the field.
  void validate(const std::string& source) const;

  int64_t num_parameters() const;  // total weights, incl. the (untied) LM head
};

}  // namespace genlens::model
