// See json_check.h.
#include "core/io/json_check.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/util/error.h"
#include "core/util/utf8.h"

namespace genlens::io {

using json = nlohmann::json;

std::string describe_json(const json& v) {
  if (v.is_array()) {
    if (v.empty()) return "an empty array";
    return fmt::format("an array of {} item{}", v.size(), v.size() == 1 ? "" : "s");
  }
  if (v.is_object()) return v.empty() ? "an empty object" : "an object";
  return util::clip_head(v.dump(), 60);
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> d(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) d[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t prev = d[0];
    d[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cur = d[j];
      d[j] = std::min({d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1)});
      prev = cur;
    }
  }
  return d[b.size()];
}

std::string nearest_key(const std::string& key, const std::vector<std::string>& known) {
  std::string best;
  size_t best_d = 3;  // a misspelling: at most 2 edits
  for (auto& k : known) {
    const size_t d = edit_distance(k, key);
    if (d < best_d) best = k, best_d = d;
  }
  return best;
}

std::string unknown_key_message(const std::string& key, const std::vector<std::string>& known) {
  std::string list;
  for (auto& k : known) list += (list.empty() ? "" : ", ") + k;
  const std::string near = nearest_key(key, known);
  return fmt::format("unknown key \"{}\"{} (the keys here: {})", util::clip_head(key, 60),
                     near.empty() ? "" : fmt::format(", did you mean \"{}\"?", near), list);
}

std::string json_path(const std::string& at, const std::string& key) { return at.empty() ? key : at + "." + key; }

void JsonCheck::bad(const std::string& at, const std::string& message) const {
  if (at.empty()) fail("{}: {}", file_, message);
  fail("{}: {}: {}", file_, at, message);
}

void JsonCheck::object(const json& v, const std::string& at) const {
  if (!v.is_object()) bad(at, "expected a JSON object, found " + describe_json(v));
}

void JsonCheck::known_keys(const json& v, const std::vector<std::string>& known, const std::string& at) const {
  object(v, at);
  for (auto& [key, value] : v.items())
    if (std::find(known.begin(), known.end(), key) == known.end()) bad(at, unknown_key_message(key, known));
}

const json* JsonCheck::object_field(const json& v, const std::string& key, const std::string& at) const {
  auto it = v.find(key);
  if (it == v.end() || it->is_null()) return nullptr;
  if (!it->is_object()) bad(json_path(at, key), "expected a JSON object, found " + describe_json(*it));
  return &*it;
}

std::optional<std::string> JsonCheck::string_field(const json& v, const std::string& key, const std::string& at) const {
  auto it = v.find(key);
  if (it == v.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) bad(json_path(at, key), "expected a string, found " + describe_json(*it));
  return it->get<std::string>();
}

std::optional<int64_t> JsonCheck::whole_field(const json& v, const std::string& key, const std::string& at) const {
  auto it = v.find(key);
  if (it == v.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || (it->is_number_unsigned() && it->get<uint64_t>() > INT64_MAX))
    bad(json_path(at, key), "expected a whole number, found " + describe_json(*it));
  return it->get<int64_t>();
}

}  // namespace genlens::io
