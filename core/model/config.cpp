// ModelConfig from an HF config.json. Each family's defaults are the ones its HF config
// class documents; size fields must be present. Anything we do not implement (another
// activation, a rope type other than default/linear/llama3, Qwen's sliding window) is
// an error naming the file and field.
#include "core/model/config.h"

#include <nlohmann/json.hpp>

#include <set>

#include "core/io/atomic_file.h"
#include "core/util/error.h"
#include "core/util/model_dir.h"

namespace genlens::model {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Reader {
  const json& j;
  const std::string& src;

  bool has(const char* k) const { return j.contains(k) && !j.at(k).is_null(); }

  int64_t req_int(const char* k) const {
    if (!j.contains(k)) fail("{}: missing required field '{}'", src, k);
    return as_int(k, j.at(k));
  }
  int64_t opt_int(const char* k, int64_t def) const { return has(k) ? as_int(k, j.at(k)) : def; }
  int64_t as_int(const char* k, const json& v) const {
    if (!v.is_number_integer()) fail("{}: field '{}' must be an integer, found {}", src, k, v.dump());
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      fail("{}: field '{}' is {}, out of range", src, k, v.dump());
    return v.get<int64_t>();
  }
  double opt_num(const char* k, double def) const {
    if (!has(k)) return def;
    const json& v = j.at(k);
    if (!v.is_number()) fail("{}: field '{}' must be a number, found {}", src, k, v.dump());
    return v.get<double>();
  }
  bool opt_bool(const char* k, bool def) const {
    if (!has(k)) return def;
    const json& v = j.at(k);
    if (!v.is_boolean()) fail("{}: field '{}' must be true or false, found {}", src, k, v.dump());
    return v.get<bool>();
  }
  std::string opt_str(const char* k, const std::string& def) const {
    if (!has(k)) return def;
    const json& v = j.at(k);
    if (!v.is_string()) fail("{}: field '{}' must be a string, found {}", src, k, v.dump());
    return v.get<std::string>();
  }
  // eos_token_id: an integer or a list of integers (or null).
  std::vector<int64_t> id_list(const char* k) const {
    std::vector<int64_t> out;
    if (!has(k)) return out;
    const json& v = j.at(k);
    if (v.is_number_integer()) {
      out.push_back(v.get<int64_t>());
    } else if (v.is_array()) {
      for (auto& x : v) {
        if (!x.is_number_integer())
          fail("{}: field '{}' must be an integer or a list of integers, found {}", src, k, v.dump());
        out.push_back(x.get<int64_t>());
      }
    } else {
      fail("{}: field '{}' must be an integer or a list of integers, found {}", src, k, v.dump());
    }
    return out;
  }
};

json parse_json_text(const std::string& text, const std::string& src) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", src, e.what());
  }
  if (!j.is_object()) fail("{}: expected a JSON object, found {}", src, j.type_name());
  return j;
}

void read_rope(ModelConfig& c, const json& rs, const std::string& src, const char* field) {
  if (rs.is_null()) return;
  if (!rs.is_object()) fail("{}: field '{}' must be an object or null, found {}", src, field, rs.dump());
  Reader r{rs, src};
  std::string type = r.opt_str("rope_type", r.opt_str("type", "default"));
  std::string where = std::string(field) + ".";
  auto num = [&](const char* k) {
    if (!r.has(k)) fail("{}: '{}' of type '{}' needs field '{}{}'", src, field, type, where, k);
    return r.opt_num(k, 0);
  };
  if (type == "default") {
    c.rope_scaling = {};
  } else if (type == "linear") {
    c.rope_scaling.type = "linear";
    c.rope_scaling.factor = num("factor");
  } else if (type == "llama3") {
    c.rope_scaling.type = "llama3";
    c.rope_scaling.factor = num("factor");
    c.rope_scaling.low_freq_factor = num("low_freq_factor");
    c.rope_scaling.high_freq_factor = num("high_freq_factor");
    if (!r.has("original_max_position_embeddings"))
      fail("{}: '{}' of type 'llama3' needs field '{}original_max_position_embeddings'", src, field, where);
    c.rope_scaling.original_max_position_embeddings = r.req_int("original_max_position_embeddings");
    if (c.rope_scaling.high_freq_factor <= c.rope_scaling.low_freq_factor)
      fail("{}: {}high_freq_factor ({}) must exceed low_freq_factor ({})", src, where,
           c.rope_scaling.high_freq_factor, c.rope_scaling.low_freq_factor);
  } else {
    fail("{}: {}rope_type '{}' is not supported (supported: default, linear, llama3)", src, where, type);
  }
  if (c.rope_scaling.type != "" && !(c.rope_scaling.factor > 0))
    fail("{}: {}factor must be positive, found {}", src, where, c.rope_scaling.factor);
}

}  // namespace

ModelConfig ModelConfig::from_json_string(const std::string& text, const std::string& src) {
  json j = parse_json_text(text, src);
  Reader r{j, src};
  ModelConfig c;
  if (!r.has("model_type")) fail("{}: missing required field 'model_type'", src);
  c.model_type = r.opt_str("model_type", "");
  static const std::set<std::string> kTypes{"llama", "qwen2", "qwen3", "mistral"};
  if (!kTypes.count(c.model_type))
    fail("{}: model_type '{}' is not supported (supported: llama, qwen2, qwen3, mistral)", src, c.model_type);

  c.vocab_size = r.req_int("vocab_size");
  c.hidden_size = r.req_int("hidden_size");
  c.intermediate_size = r.req_int("intermediate_size");
  c.num_hidden_layers = r.req_int("num_hidden_layers");
  c.num_attention_heads = r.req_int("num_attention_heads");
  c.num_key_value_heads = r.opt_int("num_key_value_heads", c.num_attention_heads);
  if (c.model_type == "qwen3" && !r.has("head_dim"))
    fail("{}: missing required field 'head_dim' (qwen3 decouples it from hidden_size)", src);
  if (r.has("head_dim")) {
    c.head_dim = r.req_int("head_dim");
  } else {
    if (c.num_attention_heads > 0 && c.hidden_size % c.num_attention_heads != 0)
      fail("{}: hidden_size {} is not divisible by num_attention_heads {} and no head_dim is given",
           src, c.hidden_size, c.num_attention_heads);
    c.head_dim = c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads : 0;
  }
  c.rms_norm_eps = r.opt_num("rms_norm_eps", 1e-6);
  c.max_position_embeddings = r.opt_int("max_position_embeddings", 2048);
  c.tie_word_embeddings = r.opt_bool("tie_word_embeddings", false);

  std::string act = r.opt_str("hidden_act", "silu");
  if (act != "silu") fail("{}: hidden_act '{}' is not supported (expected 'silu')", src, act);

  // RoPE: classic fields, or transformers v5's rope_parameters.
  c.rope_theta = r.opt_num("rope_theta", 10000.0);
  if (j.contains("rope_scaling")) read_rope(c, j.at("rope_scaling"), src, "rope_scaling");
  if (r.has("rope_parameters")) {
    const json& rp = j.at("rope_parameters");
    read_rope(c, rp, src, "rope_parameters");
    if (rp.is_object() && rp.contains("rope_theta")) c.rope_theta = Reader{rp, src}.opt_num("rope_theta", c.rope_theta);
  }
  if (!(c.rope_theta > 0)) fail("{}: rope_theta must be positive, found {}", src, c.rope_theta);

  // Per-family structure.
  if (c.model_type == "qwen2") {
    c.attention_bias = true;  // q/k/v always carry a bias in Qwen2; o_proj never
    c.o_proj_bias = false;
  } else if (c.model_type == "llama" || c.model_type == "qwen3") {
    c.attention_bias = c.o_proj_bias = r.opt_bool("attention_bias", false);
  }
  if (c.model_type == "llama") c.mlp_bias = r.opt_bool("mlp_bias", false);
  c.qk_norm = c.model_type == "qwen3";
  if (c.model_type == "qwen2" || c.model_type == "qwen3") {
    if (r.opt_bool("use_sliding_window", false))
      fail("{}: use_sliding_window=true is not supported for {} (expected false)", src, c.model_type);
  }
  if (c.model_type == "mistral") c.sliding_window = r.opt_int("sliding_window", 0);

  c.torch_dtype = r.opt_str("torch_dtype", r.opt_str("dtype", ""));
  if (r.has("bos_token_id")) c.bos_token_id = r.req_int("bos_token_id");
  c.eos_token_ids = r.id_list("eos_token_id");
  if (r.has("pad_token_id")) c.pad_token_id = r.req_int("pad_token_id");
  c.validate(src);
  return c;
}

void ModelConfig::validate(const std::string& src) const {
  auto positive = [&](const char* k, int64_t v) {
    if (v <= 0) fail("{}: field '{}' must be a positive integer, found {}", src, k, v);
  };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("intermediate_size", intermediate_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("num_key_value_heads", num_key_value_heads);
  positive("head_dim", head_dim);
  // Upper bounds far above any real model (Llama-3.1-405B: 126 layers, hidden 16384,
  // vocab 128256): a number that only a corrupted or hostile file holds must not become
  // an allocation or a loop of that size.
  auto at_most = [&](const char* k, int64_t v, int64_t max) {
    if (v > max) fail("{}: field '{}' is {}, more than genlens accepts ({}); is this config.json intact?", src, k, v, max);
  };
  at_most("vocab_size", vocab_size, int64_t{1} << 24);
  at_most("hidden_size", hidden_size, int64_t{1} << 17);
  at_most("intermediate_size", intermediate_size, int64_t{1} << 20);
  at_most("num_hidden_layers", num_hidden_layers, 4096);
  at_most("num_attention_heads", num_attention_heads, 4096);
  at_most("num_key_value_heads", num_key_value_heads, 4096);
  at_most("head_dim", head_dim, 8192);
  if (head_dim % 2 != 0) fail("{}: head_dim must be even for RoPE, found {}", src, head_dim);
  if (num_attention_heads % num_key_value_heads != 0)
    fail("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", src,
         num_attention_heads, num_key_value_heads);
  if (!(rms_norm_eps > 0)) fail("{}: rms_norm_eps must be positive, found {}", src, rms_norm_eps);
  if (sliding_window < 0) fail("{}: sliding_window must be >= 0, found {}", src, sliding_window);
  for (auto id : eos_token_ids)
    if (id < 0 || id >= vocab_size) fail("{}: eos_token_id {} is outside the vocabulary [0, {})", src, id, vocab_size);
  if (bos_token_id && (*bos_token_id < 0 || *bos_token_id >= vocab_size))
    fail("{}: bos_token_id {} is outside the vocabulary [0, {})", src, *bos_token_id, vocab_size);
}

ModelConfig ModelConfig::from_json_file(const fs::path& config_json) {
  if (!fs::exists(config_json)) fail("'{}': no such file (expected an HF config.json)", config_json.string());
  return from_json_string(io::read_file(config_json), "'" + config_json.string() + "'");
}

ModelConfig ModelConfig::from_dir(const fs::path& dir) {
  require_model_dir(dir, "config.json, the weights and the tokenizer");
  ModelConfig c = from_json_file(dir / "config.json");
  c.source_dir = dir;
  auto gen = dir / "generation_config.json";
  if (fs::exists(gen)) {
    std::string src = "'" + gen.string() + "'";
    json j = parse_json_text(io::read_file(gen), src);
    Reader r{j, src};
    for (auto id : r.id_list("eos_token_id")) {
      if (id < 0 || id >= c.vocab_size)
        fail("{}: eos_token_id {} is outside the vocabulary [0, {})", src, id, c.vocab_size);
      if (std::find(c.eos_token_ids.begin(), c.eos_token_ids.end(), id) == c.eos_token_ids.end())
        c.eos_token_ids.push_back(id);
    }
    if (!c.bos_token_id && r.has("bos_token_id")) c.bos_token_id = r.req_int("bos_token_id");
    if (!c.pad_token_id && r.has("pad_token_id")) c.pad_token_id = r.req_int("pad_token_id");
  }
  return c;
}

std::string ModelConfig::to_json_string() const {
  nlohmann::ordered_json j;
  static const std::map<std::string, std::string> kArch{{"llama", "LlamaForCausalLM"},
                                                        {"qwen2", "Qwen2ForCausalLM"},
                                                        {"qwen3", "Qwen3ForCausalLM"},
                                                        {"mistral", "MistralForCausalLM"}};
  auto arch = kArch.find(model_type);
  if (arch == kArch.end()) fail("config: model_type '{}' is not supported", model_type);
  j["architectures"] = {arch->second};
  j["model_type"] = model_type;
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["head_dim"] = head_dim;
  j["hidden_act"] = "silu";
  j["rms_norm_eps"] = rms_norm_eps;
  j["rope_theta"] = rope_theta;
  if (rope_scaling.type.empty()) {
    j["rope_scaling"] = nullptr;
  } else if (rope_scaling.type == "linear") {
    j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", rope_scaling.factor}};
  } else {
    j["rope_scaling"] = {{"rope_type", rope_scaling.type},
                         {"factor", rope_scaling.factor},
                         {"low_freq_factor", rope_scaling.low_freq_factor},
                         {"high_freq_factor", rope_scaling.high_freq_factor},
                         {"original_max_position_embeddings", rope_scaling.original_max_position_embeddings}};
  }
  j["max_position_embeddings"] = max_position_embeddings;
  j["tie_word_embeddings"] = tie_word_embeddings;
  if (model_type == "llama" || model_type == "qwen3") j["attention_bias"] = attention_bias;
  if (model_type == "llama") j["mlp_bias"] = mlp_bias;
  if (model_type == "qwen2" || model_type == "qwen3") j["use_sliding_window"] = false;
  if (model_type == "mistral") {
    if (sliding_window > 0) j["sliding_window"] = sliding_window;
    else j["sliding_window"] = nullptr;
  }
  if (!torch_dtype.empty()) j["torch_dtype"] = torch_dtype;
  if (bos_token_id) j["bos_token_id"] = *bos_token_id;
  if (eos_token_ids.size() == 1) j["eos_token_id"] = eos_token_ids[0];
  else if (!eos_token_ids.empty()) j["eos_token_id"] = eos_token_ids;
  if (pad_token_id) j["pad_token_id"] = *pad_token_id;
  return j.dump(2) + "\n";
}

std::string ModelConfig::generation_config_json() const {
  nlohmann::ordered_json j;
  if (bos_token_id) j["bos_token_id"] = *bos_token_id;
  if (eos_token_ids.size() == 1) j["eos_token_id"] = eos_token_ids[0];
  else if (!eos_token_ids.empty()) j["eos_token_id"] = eos_token_ids;
  if (pad_token_id) j["pad_token_id"] = *pad_token_id;
  j["do_sample"] = false;
  return j.dump(2) + "\n";
}

int64_t ModelConfig::num_parameters() const {
  const int64_t H = hidden_size, q = num_attention_heads * head_dim, kv = num_key_value_heads * head_dim;
  int64_t layer = 2 * H + H * q + 2 * H * kv + q * H + 3 * H * intermediate_size;
  if (attention_bias) layer += q + 2 * kv;
  if (o_proj_bias) layer += H;
  if (mlp_bias) layer += 2 * intermediate_size + H;
  if (qk_norm) layer += 2 * head_dim;
  return vocab_size * H * (tie_word_embeddings ? 1 : 2) + H + num_hidden_layers * layer;
}

}  // namespace genlens::model
