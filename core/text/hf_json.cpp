// tokenizer.json / tokenizer_config.json field helpers: every type error names the file
// and the field (see hf_components.h).
#include "core/text/hf_components.h"

#include "core/text/backends.h"
#include "core/util/error.h"

namespace genlens::text::hf {

std::string type_of(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    fail("{}: expected an object with a string \"type\", found {}", where, j.dump().substr(0, 200));
  return j["type"].get<std::string>();
}

std::string str_or(const json& j, const char* k, const std::string& dflt) {
  return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : dflt;
}
bool bool_or(const json& j, const char* k, bool dflt) {
  return j.contains(k) && j[k].is_boolean() ? j[k].get<bool>() : dflt;
}

size_t count_or(const json& j, const char* k, size_t dflt, const std::string& where) {
  if (!j.contains(k) || j[k].is_null()) return dflt;
  if (!j[k].is_number_unsigned() || j[k].get<uint64_t>() > (1u << 30))
    fail("{}: field \"{}\": expected a non-negative integer, found {}", where, k, j[k].dump().substr(0, 200));
  return static_cast<size_t>(j[k].get<uint64_t>());
}

// A {"String": s} or {"Regex": r} pattern.
Regex make_pattern(const json& p, const std::string& where) {
  if (p.is_object() && p.contains("Regex") && p["Regex"].is_string())
    return Regex::from_oniguruma(p["Regex"].get<std::string>(), where);
  if (p.is_object() && p.contains("String") && p["String"].is_string())
    return Regex::literal(p["String"].get<std::string>());
  fail("{}: pattern: expected {{\"String\": ...}} or {{\"Regex\": ...}}, found {}", where, p.dump());
}


}  // namespace genlens::text::hf

namespace genlens::text {

using json = nlohmann::json;

std::optional<std::string> config_token(const json& config, const char* key, const std::string& source) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const json& v = config[key];
  if (v.is_null()) return std::nullopt;
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  fail("{}: field {}: expected a token string, an object with a string \"content\", or null; found {}", source, key,
       v.dump().substr(0, 200));
}

}  // namespace genlens::text
