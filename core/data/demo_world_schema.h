// The world file's schema (demo_world_schema.cpp): one table describes every field of a
// world file -- its JSON type, whether it is required, its bounds and its default -- and
// validation, the defaults the generator reads and the README's schema table
// (world_schema_markdown, demo_world.h) all come from it. Read by the generator
// (demo_world.cpp) only.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/io/json_check.h"

namespace genlens::demo {

// Limits on the whole world (each field's own bounds are in the table): what keeps a demo
// within a laptop's memory and time (README "The demo world").
constexpr int64_t kMaxFileBytes = 4 << 20;     // the world file itself
constexpr int kMaxDepth = 16;                  // JSON nesting (a world needs 6)
constexpr int64_t kMaxTrainRows = 10000;       // every count.train plus restate.count
constexpr int64_t kMaxHeldoutRows = 1000;      // every count.heldout
constexpr int64_t kMaxHarmfulDocuments = 500;  // harmful_documents rendered (templates x values)
constexpr int64_t kMaxRendered = 1000;         // characters of a rendered template (longest values)

// The world file as JSON: a regular file of bounded size, valid JSON, no key twice in one
// object (JSON parsers keep the last one silently), nested no deeper than a world needs.
nlohmann::json read_world_json(const std::filesystem::path& file);

// Checks a parsed world file against the schema: every field's type and bounds, required
// and unknown keys. The first problem is an error naming the file and the JSON path;
// bad() raises one for the rules that tie fields together (checked by the generator).
class SchemaCheck {
 public:
  explicit SchemaCheck(std::string file) : check_(std::move(file)) {}
  // `v` at schema path `path` ("categories[].name"), JSON path `at` ("categories[2].name").
  void check(const nlohmann::json& v, const std::string& path, const std::string& at);
  [[noreturn]] void bad(const std::string& at, const std::string& msg) const { check_.bad(at, msg); }

 private:
  io::JsonCheck check_;  // the error style shared with other hand-edited JSON files
};

// `o[key]` when present, else the schema's default for `key` in the object at schema
// path `path` (null when the schema has none, or says it in words).
nlohmann::json value_or_default(const nlohmann::json& o, const std::string& path, const std::string& key);

// A template's references: {slot} (field "name") and {slot.field}. `error` says what is wrong
// with its syntax (empty when nothing is).
struct Refs {
  std::vector<std::pair<std::string, std::string>> refs;  // (slot, field)
  std::string error;
  size_t ref_chars = 0;  // characters taken by the references themselves
};
Refs template_refs(const std::string& t);

size_t utf8_length(const std::string& s);
// The first `n` bytes of `s` (never half a UTF-8 character), "..." when cut: values
// quoted in messages.
std::string clip(const std::string& s, size_t n);

}  // namespace genlens::demo
