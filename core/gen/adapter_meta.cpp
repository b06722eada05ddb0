// genlens.json read and written (see adapter_meta.h). Every field's type is checked
// (an integer field given 1.5 or "2" is an error, not truncated), and the counts that
// size tensors are bounded before any tensor exists.
#include "core/gen/adapter_meta.h"

#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/util/error.h"

namespace genlens::gen {

using nlohmann::json;

json BaseModelIdentity::to_json() const {
  return json{{"path", path},
              {"model_type", model_type},
              {"hidden_size", hidden_size},
              {"vocab_size", vocab_size},
              {"num_hidden_layers", num_hidden_layers},
              {"config_hash", config_hash},
              {"weights_fingerprint", weights_fingerprint}};
}

namespace {

template <class T>
T field(const json& j, const std::string& key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end()) fail("{}: field \"{}\": missing", source, key);
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) fail("{}: field \"{}\": expected a string, found {}", source, key, it->dump());
    return it->get<std::string>();
  } else {
    // Integers only: 1.5 or "2" is an error, not silently truncated or parsed.
    if (!it->is_number_integer() || (it->is_number_unsigned() && it->get<uint64_t>() > INT64_MAX))
      fail("{}: field \"{}\": expected an integer, found {}", source, key, it->dump());
    const int64_t v = it->get<int64_t>();
    if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())
      fail("{}: field \"{}\": {} is out of range", source, key, v);
    return static_cast<T>(v);
  }
}

// Bounds for the numbers that size tensors (far above any real adapter).
void in_range(int64_t v, int64_t lo, int64_t hi, const char* key, const std::string& source) {
  if (v < lo || v > hi) fail("{}: field \"{}\": expected {} to {}, found {}", source, key, lo, hi, v);
}

template <class T>
T field_or(const json& j, const std::string& key, T fallback, const std::string& source) {
  if (!j.contains(key) || j.at(key).is_null()) return fallback;
  return field<T>(j, key, source);
}

}  // namespace

BaseModelIdentity BaseModelIdentity::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) fail("{}: field \"base_model\": expected an object, found {}", source, j.dump());
  std::string src = source + " (base_model)";
  BaseModelIdentity id;
  id.path = field_or<std::string>(j, "path", "", src);
  id.model_type = field<std::string>(j, "model_type", src);
  id.hidden_size = field<int64_t>(j, "hidden_size", src);
  id.vocab_size = field<int64_t>(j, "vocab_size", src);
  id.num_hidden_layers = field_or<int64_t>(j, "num_hidden_layers", 0, src);
  id.config_hash = field_or<std::string>(j, "config_hash", "", src);
  id.weights_fingerprint = field_or<std::string>(j, "weights_fingerprint", "", src);
  return id;
}

void BaseModelIdentity::check_matches(const BaseModelIdentity& a, const std::string& source) const {
  if (hidden_size != a.hidden_size)
    fail("{}: the adapter was trained for hidden size {} ({} model at {}), but this base model ({} at {}) has "
         "hidden_size {}", source, hidden_size, model_type, path, a.model_type, a.path, a.hidden_size);
  if (model_type != a.model_type || vocab_size != a.vocab_size ||
      (!config_hash.empty() && config_hash != a.config_hash))
    fail("{}: the adapter was trained on a different base model: expected {} (vocab {}, {} layers, config hash "
         "{}) from {}, found {} (vocab {}, {} layers, config hash {}) at {}", source, model_type, vocab_size,
         num_hidden_layers, config_hash, path, a.model_type, a.vocab_size, a.num_hidden_layers, a.config_hash,
         a.path);
  if (!weights_fingerprint.empty() && weights_fingerprint != a.weights_fingerprint)
    fail("{}: the adapter was trained on a different base model: same architecture ({}, hidden {}) but "
         "different weights (fingerprint {} from {}, this model at {} has {})", source, model_type, hidden_size,
         weights_fingerprint, path, a.path, a.weights_fingerprint);
}

// ---------------------------------------------------------------- genlens.json

json AdapterMeta::to_json() const {
  json j;
  j["format"] = "genlens-adapter";
  j["format_version"] = format_version;
  j["base_model"] = base.to_json();
  j["n_thought"] = shape.n_thought;
  j["n_compression"] = shape.n_compression;
  j["n_special"] = shape.n_special();
  j["hidden_size"] = shape.hidden;
  j["encoding_mode"] = shape.encoding_mode();
  j["teacher"] = json{{"kind", teacher_kind}, {"spec", teacher_spec}, {"dim", shape.teacher_dim}};
  j["dtype"] = dtype;
  j["compute_dtype"] = compute_dtype;
  j["query"] = json{{"max_length", query_max_length}, {"instruction", instruction}, {"chat_template", false},
                    {"padding", "left"}};
  j["step"] = step;
  j["training"] = training;
  return j;
}

AdapterMeta AdapterMeta::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) fail("{}: expected a JSON object", source);
  AdapterMeta m;
  auto fmt_name = field_or<std::string>(j, "format", "", source);
  if (fmt_name != "genlens-adapter")
    fail("{}: field \"format\": expected \"genlens-adapter\", found \"{}\"", source, fmt_name);
  m.format_version = field<int>(j, "format_version", source);
  if (m.format_version != kAdapterFormatVersion)
    fail("{}: field \"format_version\": this genlens reads version {}, found {}", source, kAdapterFormatVersion,
         m.format_version);
  if (!j.contains("base_model")) fail("{}: field \"base_model\": missing", source);
  m.base = BaseModelIdentity::from_json(j.at("base_model"), source);
  m.shape.n_thought = field<int64_t>(j, "n_thought", source);
  m.shape.n_compression = field<int64_t>(j, "n_compression", source);
  m.shape.hidden = field<int64_t>(j, "hidden_size", source);
  in_range(m.shape.n_thought, 0, 4096, "n_thought", source);
  in_range(m.shape.n_compression, 1, 4096, "n_compression", source);
  in_range(m.shape.hidden, 1, 131072, "hidden_size", source);
  if (m.shape.hidden != m.base.hidden_size)
    fail("{}: field \"hidden_size\" is {} but base_model.hidden_size is {}; they must agree", source, m.shape.hidden,
         m.base.hidden_size);
  auto mode = field<std::string>(j, "encoding_mode", source);
  if (mode != m.shape.encoding_mode())
    fail("{}: field \"encoding_mode\": expected \"{}\" for {} compression tokens, found \"{}\"", source,
         m.shape.encoding_mode(), m.shape.n_compression, mode);
  if (!j.contains("teacher") || !j.at("teacher").is_object()) fail("{}: field \"teacher\": missing", source);
  const auto& t = j.at("teacher");
  m.teacher_kind = field<std::string>(t, "kind", source + " (teacher)");
  m.teacher_spec = field_or<std::string>(t, "spec", m.teacher_kind, source + " (teacher)");
  m.shape.teacher_dim = field<int64_t>(t, "dim", source + " (teacher)");
  in_range(m.shape.teacher_dim, 1, 1 << 20, "dim", source + " (teacher)");
  m.dtype = field_or<std::string>(j, "dtype", "float32", source);
  m.compute_dtype = field_or<std::string>(j, "compute_dtype", "", source);
  if (j.contains("query") && j.at("query").is_object()) {
    m.query_max_length = field_or<int64_t>(j.at("query"), "max_length", 512, source + " (query)");
    in_range(m.query_max_length, 1, 1 << 20, "max_length", source + " (query)");
    m.instruction = field_or<std::string>(j.at("query"), "instruction", "", source + " (query)");
  }
  m.step = field_or<int64_t>(j, "step", 0, source);
  in_range(m.step, 0, INT64_MAX, "step", source);
  if (j.contains("training")) m.training = j.at("training");
  return m;
}

}  // namespace genlens::gen
