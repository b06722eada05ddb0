// The world file's schema table and the checks made from it (see demo_world_schema.h).
#include "core/data/demo_world_schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "core/data/demo_world.h"
#include "core/io/atomic_file.h"
#include "core/util/error.h"
#include "core/util/utf8.h"

namespace genlens::demo {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

enum class Ty { Object, Array, String, Template, Bool, Whole };

struct Row {
  const char* path;  // keys joined by '.'; "[]": every item of an array; "*": a key the author
                     // chooses (a slot name, a record field); "(slot value)": a slot value, wherever
                     // one appears. Two rows with one path: either JSON type is accepted.
  Ty type;
  bool required;
  int64_t lo, hi;   // Whole: the value; String, Template: characters; Array, Object with "*" keys: items
  const char* def;  // default as JSON text; "(...)": said in words (README only); nullptr: none
  const char* doc;
  const char* items = nullptr;  // Array: the path its items follow (default: path + "[]")
};

const std::vector<Row>& schema() {
  static const std::vector<Row> rows = {
      {"", Ty::Object, true, 0, 0, nullptr, "the world"},
      {"name", Ty::String, false, 1, 64, "(the file name)", "the world's name in the report"},
      {"description", Ty::String, false, 0, 4000, "\"\"", "free text for people; not used"},
      {"seed", Ty::Whole, false, 0, 4294967295LL, "0", "seed of the sampler (same seed, same world)"},
      {"instructions", Ty::Object, false, 0, 0, "{}", "put before the texts when the tasks are embedded"},
      {"instructions.clustering", Ty::String, false, 0, 500, "\"\"", ""},
      {"instructions.classification", Ty::String, false, 0, 500, "\"\"", ""},
      {"instructions.sts", Ty::String, false, 0, 500, "\"\"", ""},
      {"instructions.query", Ty::String, false, 0, 500, "\"\"", "retrieval and safety queries"},
      {"instructions.passage", Ty::String, false, 0, 500, "\"Summarize the following passage: \"",
       "retrieval and safety passages"},
      {"slots", Ty::Object, true, 0, 64, nullptr, "vocabularies by name (letters, digits, '_', '-'; not 'passage')"},
      {"slots.*", Ty::Array, false, 1, 1000, nullptr, "shared values (train and held-out alike)", "(slot value)"},
      {"slots.*", Ty::Object, false, 0, 0, nullptr, "either \"all\" or both \"train\" and \"heldout\""},
      {"slots.*.all", Ty::Array, false, 1, 1000, nullptr, "shared values", "(slot value)"},
      {"slots.*.train", Ty::Array, false, 1, 1000, nullptr, "values of training queries", "(slot value)"},
      {"slots.*.heldout", Ty::Array, false, 1, 1000, nullptr, "values of held-out queries only", "(slot value)"},
      {"(slot value)", Ty::String, false, 1, 200, nullptr, "a slot value: {slot}"},
      {"(slot value)", Ty::Object, false, 1, 16, nullptr, "a record: {slot.field}; {slot} is its \"name\""},
      {"(slot value).name", Ty::String, true, 1, 200, nullptr, ""},
      {"(slot value).*", Ty::String, false, 1, 200, nullptr, "more fields (letters, digits, '_', '-')"},
      {"categories", Ty::Array, true, 1, 32, nullptr, "kinds of answer; at least 2 different labels"},
      {"categories[]", Ty::Object, false, 0, 0, nullptr, ""},
      {"categories[].name", Ty::String, true, 1, 64, nullptr, "unique; not 'restate'"},
      {"categories[].label", Ty::String, false, 1, 64, "(the name)", "clustering / classification label"},
      {"categories[].answer_key", Ty::Template, false, 1, 200, "(the name)", "which passage answers a query"},
      {"categories[].harmful", Ty::Bool, false, 0, 0, "false", "true: its held-out queries form the safety task"},
      {"categories[].queries", Ty::Object, true, 0, 0, nullptr, ""},
      {"categories[].queries.train", Ty::Array, true, 1, 200, nullptr, "templates of training queries"},
      {"categories[].queries.train[]", Ty::Template, false, 1, 500, nullptr, ""},
      {"categories[].queries.heldout", Ty::Array, true, 1, 200, nullptr, "templates of held-out queries"},
      {"categories[].queries.heldout[]", Ty::Template, false, 1, 500, nullptr, ""},
      {"categories[].responses", Ty::Array, true, 1, 100, nullptr, "the answers; the first one is the passage"},
      {"categories[].responses[]", Ty::Template, false, 1, 500, nullptr, ""},
      {"categories[].signature", Ty::Array, true, 1, 50, nullptr, "words a right-kind answer contains"},
      {"categories[].signature[]", Ty::Template, false, 1, 100, nullptr, ""},
      {"categories[].count", Ty::Object, false, 0, 0, "{}", ""},
      {"categories[].count.train", Ty::Whole, false, 1, 2000, "60", "training queries (wordings may repeat)"},
      {"categories[].count.heldout", Ty::Whole, false, 1, 200, "16", "held-out queries (all different wordings)"},
      {"restate", Ty::Object, false, 0, 0, "(none)", "the restatement intent: passage -> the passage"},
      {"restate.queries", Ty::Object, true, 0, 0, nullptr, ""},
      {"restate.queries.train", Ty::Array, true, 1, 50, nullptr, "templates; each uses {passage}"},
      {"restate.queries.train[]", Ty::Template, false, 1, 500, nullptr, ""},
      {"restate.queries.heldout", Ty::Array, false, 0, 50, "[]", "not used yet"},
      {"restate.queries.heldout[]", Ty::Template, false, 1, 500, nullptr, ""},
      {"restate.count", Ty::Whole, false, 1, 2000, "100", "restatements in training"},
      {"harmful_documents", Ty::Array, false, 0, 20, "[]", "safety corpus, marked harmful"},
      {"harmful_documents[]", Ty::Template, false, 1, 500, nullptr, "one slot at most: one document per value"},
  };
  return rows;
}

std::string child_path(const std::string& p, const std::string& key) { return p.empty() ? key : p + "." + key; }

std::vector<const Row*> rows_at(const std::string& path) {
  std::vector<const Row*> out;
  for (auto& r : schema())
    if (path == r.path) out.push_back(&r);
  return out;
}

// The keys the schema names for the object at `path` (not "*").
std::vector<std::string> keys_of(const std::string& path) {
  const std::string prefix = path.empty() ? "" : path + ".";
  std::vector<std::string> out;
  for (auto& r : schema()) {
    const std::string p = r.path;
    if (p.size() <= prefix.size() || p.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = p.substr(prefix.size());
    if (rest == "*" || rest[0] == '(' || rest.find_first_of(".[") != std::string::npos) continue;
    if (std::find(out.begin(), out.end(), rest) == out.end()) out.push_back(rest);
  }
  return out;
}

// The default of `key` in the object at schema path `path`; null when there is none (or it
// is said in words and the caller supplies it).
json default_of(const std::string& path, const std::string& key) {
  for (const Row* r : rows_at(child_path(path, key)))
    if (r->def && r->def[0] != '(') return json::parse(r->def);
  return json();
}

bool is_ident(const std::string& s) {
  if (s.empty() || s.size() > 40) return false;
  for (unsigned char c : s)
    if (!std::isalnum(c) && c != '_' && c != '-') return false;
  return true;
}

std::string describe(const Row& r) {
  switch (r.type) {
    case Ty::Whole:
      return fmt::format("a whole number from {} to {}", r.lo, r.hi);
    case Ty::String:
      return r.lo > 0 ? "a non-empty string" : "a string";
    case Ty::Template:
      return "a template (a string)";
    case Ty::Bool:
      return "true or false";
    case Ty::Array: {
      const auto items = rows_at(r.items ? r.items : std::string(r.path) + "[]");
      std::string what;
      for (const Row* i : items) {
        if (!what.empty()) what += " or ";
        what += i->type == Ty::Object ? "objects" : i->type == Ty::Template ? "templates" : "strings";
      }
      return fmt::format("an array of {} to {} {}", r.lo, r.hi, what);
    }
    case Ty::Object: {
      std::vector<std::string> keys;
      for (auto& k : keys_of(r.path))
        for (const Row* c : rows_at(child_path(r.path, k)))
          if (c->required && std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
      std::string s = keys.empty() ? "an object" : "an object with";
      for (size_t i = 0; i < keys.size(); ++i)
        s += fmt::format("{}\"{}\"", i == 0 ? " " : i + 1 == keys.size() ? " and " : ", ", keys[i]);
      return s;
    }
  }
  return "?";
}

// Whether `v` has the JSON type of row `r` (a field may accept two types: two rows).
bool matches(const Row& r, const json& v) {
  switch (r.type) {
    case Ty::Object:
      return v.is_object();
    case Ty::Array:
      return v.is_array();
    case Ty::String:
    case Ty::Template:
      return v.is_string();
    case Ty::Bool:
      return v.is_boolean();
    case Ty::Whole:
      return v.is_number();
  }
  return false;
}

}  // namespace

json value_or_default(const json& o, const std::string& path, const std::string& key) {
  auto it = o.find(key);
  return it != o.end() ? *it : default_of(path, key);
}

size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string clip(const std::string& s, size_t n) { return util::clip_head(s, n); }

Refs template_refs(const std::string& t) {
  Refs r;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '{') continue;
    const size_t j = t.find('}', i);
    if (j == std::string::npos) {
      r.error = fmt::format("the '{{' at character {} is never closed", utf8_length(t.substr(0, i)) + 1);
      return r;
    }
    const std::string ref = t.substr(i + 1, j - i - 1);
    const size_t dot = ref.find('.');
    const std::string slot = ref.substr(0, dot), field = dot == std::string::npos ? "name" : ref.substr(dot + 1);
    if (!is_ident(slot) || !is_ident(field)) {
      r.error = fmt::format("'{{{}}}' is not {{slot}} or {{slot.field}} (names of letters, digits, '_' and '-')",
                            clip(ref, 40));
      return r;
    }
    r.refs.emplace_back(slot, field);
    r.ref_chars += utf8_length(ref) + 2;
    i = j;
  }
  return r;
}

void SchemaCheck::check(const json& v, const std::string& path, const std::string& at) {
  const auto alts = rows_at(path);
  const Row* r = nullptr;
  for (const Row* a : alts)
    if (matches(*a, v)) {
      r = a;
      break;
    }
  if (!r) {
    std::string want;
    for (const Row* a : alts) want += (want.empty() ? "" : ", or ") + describe(*a);
    bad(at, fmt::format("expected {}, found {}", want, io::describe_json(v)));
  }
  switch (r->type) {
    case Ty::Whole: {
      bool ok = v.is_number_integer();
      if (ok && v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        ok = u <= static_cast<uint64_t>(r->hi) && (r->lo <= 0 || u >= static_cast<uint64_t>(r->lo));
      } else if (ok) {
        ok = v.get<int64_t>() >= r->lo && v.get<int64_t>() <= r->hi;
      }
      if (!ok) bad(at, fmt::format("expected {}, found {}", describe(*r), io::describe_json(v)));
      break;
    }
    case Ty::String:
    case Ty::Template: {
      const std::string& s = v.get_ref<const std::string&>();
      const auto n = static_cast<int64_t>(utf8_length(s));
      if (n < r->lo)
        bad(at, fmt::format("expected a non-empty {}, found {}", r->type == Ty::Template ? "template" : "string",
                            io::describe_json(v)));
      if (n > r->hi) bad(at, fmt::format("expected at most {} characters, found {}", r->hi, n));
      if (r->type == Ty::Template) {
        if (s.find_first_not_of(" \t\r\n") == std::string::npos)
          bad(at, fmt::format("expected a template with some text, found {}", io::describe_json(v)));
        auto refs = template_refs(s);
        if (!refs.error.empty()) bad(at, fmt::format("template '{}': {}", clip(s, 80), refs.error));
      }
      break;
    }
    case Ty::Bool:
      break;
    case Ty::Array: {
      const auto n = static_cast<int64_t>(v.size());
      if (n < r->lo || n > r->hi)
        bad(at, fmt::format("expected an array of {} to {} items, found {}", r->lo, r->hi,
                            n == 0 ? "an empty array" : std::to_string(n)));
      const std::string items = r->items ? r->items : std::string(r->path) + "[]";
      for (size_t i = 0; i < v.size(); ++i) {
        std::string item_at = fmt::format("{}[{}]", at, i);
        const json& e = v[i];
        if (e.is_object() && e.contains("name") && e["name"].is_string())
          item_at += " (" + clip(e["name"].get<std::string>(), 40) + ")";
        check(e, items, item_at);
      }
      break;
    }
    case Ty::Object: {
      const auto known = keys_of(path);
      const bool open = !rows_at(child_path(path, "*")).empty();
      if (open && (static_cast<int64_t>(v.size()) < r->lo || static_cast<int64_t>(v.size()) > r->hi))
        bad(at, fmt::format("expected {} to {} entries, found {}", r->lo, r->hi, v.size()));
      for (auto& [key, value] : v.items()) {
        const std::string key_at = at.empty() ? key : at + "." + key;
        if (std::find(known.begin(), known.end(), key) != known.end()) {
          check(value, child_path(path, key), key_at);
        } else if (open) {
          if (!is_ident(key))
            bad(key_at, fmt::format("the name \"{}\" may use letters, digits, '_' and '-' only (1 to 40 of "
                                    "them): templates refer to it as {{{}}}",
                                    clip(key, 60), clip(key, 60)));
          check(value, child_path(path, "*"), key_at);
        } else {
          bad(at, io::unknown_key_message(key, known));
        }
      }
      for (auto& k : known)
        for (const Row* c : rows_at(child_path(path, k)))
          if (c->required && !v.contains(k)) {
            bad(at, fmt::format("missing key \"{}\" ({})", k, describe(*c)));
          }
      break;
    }
  }
}

json read_world_json(const fs::path& file) {
  const std::string src = file.string();
  std::error_code ec;
  const auto st = fs::status(file, ec);
  if (!fs::exists(st)) fail("{}: no such world file", src);
  if (!fs::is_regular_file(st)) fail("{}: not a regular file (a world file is JSON text)", src);
  const auto size = fs::file_size(file, ec);
  if (ec) fail("{}: cannot read: {}", src, ec.message());
  if (size > static_cast<uintmax_t>(kMaxFileBytes))
    fail("{}: {} bytes; a world file is at most {} bytes (4 MiB)", src, size, kMaxFileBytes);
  const std::string text = io::read_file(file);
  struct Frame {
    bool array = false;
    int64_t index = -1;
    std::string key;
    std::set<std::string> keys;
  };
  std::vector<Frame> stack;
  auto path_of = [&](size_t frames) {
    std::string p;
    for (size_t i = 0; i < frames; ++i) {
      if (stack[i].array)
        p += fmt::format("[{}]", stack[i].index);
      else
        p += (p.empty() ? "" : ".") + stack[i].key;
    }
    return p;
  };
  auto callback = [&](int, json::parse_event_t event, json& parsed) {
    using E = json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start:
        if (!stack.empty() && stack.back().array) ++stack.back().index;
        if (static_cast<int>(stack.size()) >= kMaxDepth)
          fail("{}: {}: nested deeper than {} levels (a world file needs 6)", src, path_of(stack.size()), kMaxDepth);
        stack.emplace_back();
        stack.back().array = event == E::array_start;
        break;
      case E::object_end:
      case E::array_end:
        stack.pop_back();
        break;
      case E::key: {
        Frame& f = stack.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second) {
          const std::string p = path_of(stack.size() - 1);  // the object's own path
          if (p.empty())
            fail("{}: the key \"{}\" appears twice (JSON keeps only the last one; remove one)", src, clip(f.key, 60));
          fail("{}: {}: the key \"{}\" appears twice (JSON keeps only the last one; remove one)", src, p,
               clip(f.key, 60));
        }
        break;
      }
      case E::value:
        if (!stack.empty() && stack.back().array) ++stack.back().index;
        break;
    }
    return true;
  };
  try {
    return json::parse(text, callback);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", src, e.what());
  }
}

std::string world_schema_markdown() {
  auto shown_path = [](const std::string& p) { return p.empty() ? std::string("(the file)") : p; };
  std::string s = "| field | type | required | bounds | default | what |\n|---|---|---|---|---|---|\n";
  for (auto& r : schema()) {
    if (std::string(r.path).empty()) continue;
    std::string type, bounds;
    switch (r.type) {
      case Ty::Object:
        type = "object";
        if (!rows_at(child_path(r.path, "*")).empty()) bounds = fmt::format("{} to {} entries", r.lo, r.hi);
        break;
      case Ty::Array:
        type = "array";
        bounds = fmt::format("{} to {} items", r.lo, r.hi);
        break;
      case Ty::String:
        type = "string";
        bounds = fmt::format("{} to {} characters", r.lo, r.hi);
        break;
      case Ty::Template:
        type = "template";
        bounds = fmt::format("{} to {} characters", r.lo, r.hi);
        break;
      case Ty::Bool:
        type = "true / false";
        break;
      case Ty::Whole:
        type = "whole number";
        bounds = fmt::format("{} to {}", r.lo, r.hi);
        break;
    }
    std::string def = r.def ? std::string(r.def) : "";
    if (!def.empty() && def.front() == '(')
      def = def.substr(1, def.size() - 2);
    else if (!def.empty())
      def = "`" + def + "`";
    s += fmt::format("| `{}` | {} | {} | {} | {} | {} |\n", shown_path(r.path), type, r.required ? "yes" : "", bounds,
                     def, r.doc);
  }
  s += fmt::format(
      "\nOver the whole file: at most {} training rows (every `count.train` plus `restate.count`), {} held-out "
      "queries (every `count.heldout`), {} harmful documents (templates x values of their slot), {} characters "
      "in any rendered template (with the longest values of its slots), {} bytes (4 MiB) of file and {} levels of "
      "nesting; no key twice in one object.\n",
      kMaxTrainRows, kMaxHeldoutRows, kMaxHarmfulDocuments, kMaxRendered, kMaxFileBytes, kMaxDepth);
  return s;
}

}  // namespace genlens::demo
