// Checks of JSON files a person writes or edits by hand, with errors in one style: the
// file, the JSON path and what was expected and found
//   world.json: categories[0] (tool).count.train: expected a whole number from 1 to 2000, found -5
//   tasks/clu/task.json: unknown key "instrucion", did you mean "instruction"? (the keys here: ...)
// Shared by the world schema (core/data/demo_world.cpp), task folders' task.json
// (core/analysis/eval_tasks.cpp) and a run's trainer_state.json (core/gen/checkpoint.cpp).
#pragma once
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace genlens::io {

// How a JSON value reads in a message: "an empty array", "an array of 3 items", "an empty
// object", "an object", else the value as JSON text (cut after 60 bytes).
std::string describe_json(const nlohmann::json& v);

// Levenshtein distance (bytes), for "did you mean".
size_t edit_distance(const std::string& a, const std::string& b);

// The entry of `known` nearest to `key` when it is a likely misspelling (at most 2 edits
// away), else "".
std::string nearest_key(const std::string& key, const std::vector<std::string>& known);

// `unknown key "KEY", did you mean "NEAR"? (the keys here: A, B, C)` (no "did you mean"
// when no known key is near).
std::string unknown_key_message(const std::string& key, const std::vector<std::string>& known);

// "a.b" from "a" and "b"; "b" when `at` is empty.
std::string json_path(const std::string& at, const std::string& key);

// Type checks of one file's values. `at` is the JSON path of the value checked ("" for the
// whole file); every error is genlens::Error "FILE: AT: MESSAGE" ("FILE: MESSAGE" at the top).
class JsonCheck {
 public:
  explicit JsonCheck(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }

  [[noreturn]] void bad(const std::string& at, const std::string& message) const;

  // `v` must be a JSON object.
  void object(const nlohmann::json& v, const std::string& at) const;
  // Every key of the object `v` must be one of `known` (else "unknown key ..., did you mean").
  void known_keys(const nlohmann::json& v, const std::vector<std::string>& known, const std::string& at) const;

  // v[key] of the object `v`: absent or null is "not given" (nullptr / nullopt); any other
  // value must have the type asked for.
  const nlohmann::json* object_field(const nlohmann::json& v, const std::string& key, const std::string& at) const;
  std::optional<std::string> string_field(const nlohmann::json& v, const std::string& key,
                                          const std::string& at) const;
  std::optional<int64_t> whole_field(const nlohmann::json& v, const std::string& key, const std::string& at) const;

 private:
  std::string file_;
};

}  // namespace genlens::io
