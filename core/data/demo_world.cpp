// The demo world generator: world file -> examples -> task folders. See demo_world.h.
#include "core/data/demo_world.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>
#include <set>

#include "core/io/atomic_file.h"
#include "core/io/json_check.h"
#include "core/io/jsonl.h"
#include "core/util/error.h"
#include "genlens_paths.h"

namespace genlens::demo {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// ---------------------------------------------------------------- the schema
//
// One table describes every field of a world file: its JSON type, whether it is required,
// its bounds and its default. Validation, the defaults the generator reads and the
// README's schema table (world_schema_markdown) all come from it.

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

// Limits on the whole world (each field's own bounds are in the table): what keeps a demo
// within a laptop's memory and time (README "The demo world").
constexpr int64_t kMaxFileBytes = 4 << 20;     // the world file itself
constexpr int kMaxDepth = 16;                  // JSON nesting (a world needs 6)
constexpr int64_t kMaxTrainRows = 10000;       // every count.train plus restate.count
constexpr int64_t kMaxHeldoutRows = 1000;      // every count.heldout
constexpr int64_t kMaxHarmfulDocuments = 500;  // harmful_documents rendered (templates x values)
constexpr int64_t kMaxRendered = 1000;         // characters of a rendered template (longest values)

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

// `o[key]` when present, else the schema's default.
json get(const json& o, const std::string& path, const std::string& key) {
  auto it = o.find(key);
  return it != o.end() ? *it : default_of(path, key);
}

size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string clip(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
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

// A template's references: {slot} (field "name") and {slot.field}. `error` says what is wrong
// with its syntax (empty when nothing is).
struct Refs {
  std::vector<std::pair<std::string, std::string>> refs;  // (slot, field)
  std::string error;
  size_t ref_chars = 0;  // characters taken by the references themselves
};

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

// Checks a parsed world file against the schema: every field's type and bounds, required
// and unknown keys. The first problem is an error naming the file and the JSON path.
class SchemaCheck {
 public:
  explicit SchemaCheck(std::string file) : check_(std::move(file)) {}

  void check(const json& v, const std::string& path, const std::string& at) {
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

  [[noreturn]] void bad(const std::string& at, const std::string& msg) const { check_.bad(at, msg); }

 private:
  static bool matches(const Row& r, const json& v) {
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
  io::JsonCheck check_;  // the error style shared with other hand-edited JSON files
};

// The world file as JSON: a regular file of bounded size, valid JSON, no key twice in one
// object (JSON parsers keep the last one silently), nested no deeper than a world needs.
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

enum class Split { Train, Heldout };
const char* split_name(Split s) { return s == Split::Train ? "train" : "heldout"; }

// A slot value: a plain string ({slot}) or a record of fields ({slot.field}; {slot} is its "name").
using SlotValue = std::map<std::string, std::string>;

struct Slot {
  std::vector<SlotValue> train, heldout;  // equal for shared slots
  std::string train_at, heldout_at;       // JSON paths of the two lists (for messages)
};

struct Category {
  std::string name, label, answer_key, at;  // at: "categories[3] (joy)"
  bool harmful = false;
  std::vector<std::string> train_templates, heldout_templates, responses, signature;
  int64_t train_count = 0, heldout_count = 0;
  int64_t heldout_wordings = 0;  // different held-out queries its templates and values can make
};

// Slot names a template uses: "{country.name}" -> "country".
std::vector<std::string> slots_in(const std::string& t) {
  std::vector<std::string> out;
  for (auto& [slot, field] : template_refs(t).refs) out.push_back(slot);
  return out;
}

std::string render(const std::string& t, const std::map<std::string, const SlotValue*>& bound,
                   const std::string& where) {
  std::string out;
  size_t i = 0;
  while (i < t.size()) {
    size_t a = t.find('{', i);
    if (a == std::string::npos) {
      out += t.substr(i);
      break;
    }
    size_t b = t.find('}', a);
    if (b == std::string::npos) fail("{}: template '{}' has an unclosed '{{'", where, t);
    out += t.substr(i, a - i);
    std::string ref = t.substr(a + 1, b - a - 1);
    std::string slot = ref.substr(0, ref.find('.'));
    std::string field = ref.find('.') == std::string::npos ? "name" : ref.substr(ref.find('.') + 1);
    auto it = bound.find(slot);
    if (it == bound.end())
      fail("{}: template '{}' uses slot '{}', which the world's \"slots\" do not define", where, t, slot);
    auto f = it->second->find(field);
    if (f == it->second->end())
      fail("{}: template '{}' uses '{{{}}}', but values of slot '{}' have no field '{}'", where, t, ref, slot, field);
    out += f->second;
    i = b + 1;
  }
  return out;
}

// Slot values of a list the schema has checked: strings, or records with a "name".
std::vector<SlotValue> read_values(const json& arr) {
  std::vector<SlotValue> out;
  for (const json& v : arr) {
    SlotValue sv;
    if (v.is_string())
      sv["name"] = v.get<std::string>();
    else
      for (auto& [k, x] : v.items()) sv[k] = x.get<std::string>();
    out.push_back(std::move(sv));
  }
  return out;
}

std::vector<std::string> strings(const json& a) { return a.get<std::vector<std::string>>(); }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Deterministic across platforms (std distributions are not).
struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  size_t below(size_t n) { return n ? static_cast<size_t>(g() % n) : 0; }
};

int64_t saturating_mul(int64_t a, int64_t b) {
  constexpr int64_t cap = int64_t{1} << 40;
  return a == 0 || b == 0 ? 0 : (a > cap / b ? cap : a * b);
}

}  // namespace

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

fs::path default_world_file() {
  if (const char* env = std::getenv("GENLENS_DEMO_WORLD"); env && *env) return env;
  return fs::path(GENLENS_SOURCE_DIR) / "assets/demo/world.json";
}

bool right_kind(const WorldExample& ex, const std::string& response) {
  const std::string r = lower(response);
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (const auto& w : ex.signature) {
    for (size_t p = r.find(w); p != std::string::npos; p = r.find(w, p + 1)) {
      bool left = p == 0 || !is_word(r[p - 1]);
      bool right = p + w.size() >= r.size() || !is_word(r[p + w.size()]);
      if (left && right) return true;
    }
  }
  return false;
}

WorldData generate_world(const fs::path& file, const WorldOptions& opt) {
  const std::string src = file.string();
  const json j = read_world_json(file);
  SchemaCheck rules(src);
  rules.check(j, "", "");
  // From here on every field has its type and bounds; what is left are the rules that
  // tie fields together (names, slot references, totals).

  WorldData w;
  w.name = j.contains("name") ? j["name"].get<std::string>() : file.stem().string();
  w.seed = get(j, "", "seed").get<uint64_t>() + static_cast<uint64_t>(opt.seed_offset);
  {
    const json in = get(j, "", "instructions");
    for (auto [key, dst] :
         {std::pair{"clustering", &w.instructions.clustering},
          std::pair{"classification", &w.instructions.classification}, std::pair{"sts", &w.instructions.sts},
          std::pair{"query", &w.instructions.query}, std::pair{"passage", &w.instructions.passage}})
      *dst = get(in, "instructions", key).get<std::string>();
  }

  // Slots.
  std::map<std::string, Slot> slots;
  for (auto& [name, v] : j.at("slots").items()) {
    const std::string at = "slots." + name;
    if (name == "passage")
      rules.bad(at, "the name 'passage' is reserved (restatements fill {passage} with answer passages)");
    Slot s;
    if (v.is_array()) {
      s.train = s.heldout = read_values(v);
      s.train_at = s.heldout_at = at;
    } else if (v.contains("all") && v.size() == 1) {
      s.train = s.heldout = read_values(v.at("all"));
      s.train_at = s.heldout_at = at + ".all";
    } else if (v.contains("train") && v.contains("heldout") && v.size() == 2) {
      s.train = read_values(v.at("train"));
      s.heldout = read_values(v.at("heldout"));
      s.train_at = at + ".train";
      s.heldout_at = at + ".heldout";
    } else {
      std::string keys;
      for (auto& [k, x] : v.items()) keys += (keys.empty() ? "" : ", ") + k;
      rules.bad(at,
                fmt::format("expected {{\"all\": [...]}} (shared values) or {{\"train\": [...], \"heldout\": [...]}} "
                            "(split values), found {}",
                            keys.empty() ? "an empty object" : "the keys " + keys));
    }
    slots[name] = std::move(s);
  }

  // A category template's references: defined slots, fields every value has, and a
  // rendering of bounded length. Returns the slots it uses.
  auto check_template = [&](const std::string& at, const std::string& t) {
    int64_t length = static_cast<int64_t>(utf8_length(t));
    const Refs refs = template_refs(t);
    if (!refs.error.empty()) rules.bad(at, fmt::format("template '{}': {}", clip(t, 80), refs.error));
    length -= static_cast<int64_t>(refs.ref_chars);
    std::set<std::string> used;
    for (auto& [slot, field] : refs.refs) {
      if (slot == "passage")
        rules.bad(at, fmt::format("template '{}': {{passage}} is for restate templates only", clip(t, 80)));
      auto it = slots.find(slot);
      if (it == slots.end())
        rules.bad(at, fmt::format("template '{}' uses slot '{}', which \"slots\" does not define", clip(t, 80), slot));
      size_t longest = 0;
      for (auto [list, list_at] :
           {std::pair{&it->second.train, &it->second.train_at}, std::pair{&it->second.heldout, &it->second.heldout_at}})
        for (size_t i = 0; i < list->size(); ++i) {
          auto f = (*list)[i].find(field);
          if (f == (*list)[i].end())
            rules.bad(at, fmt::format("template '{}' uses '{{{}.{}}}', but {}[{}] ({}) has no field '{}'", clip(t, 80),
                                      slot, field, *list_at, i, clip((*list)[i].at("name"), 40), field));
          longest = std::max(longest, utf8_length(f->second));
        }
      length += static_cast<int64_t>(longest);
      used.insert(slot);
    }
    if (length > kMaxRendered)
      rules.bad(at, fmt::format("template '{}' renders to up to {} characters with the longest values of its slots "
                                "(at most {})",
                                clip(t, 80), length, kMaxRendered));
    return used;
  };

  // Categories.
  std::vector<Category> cats;
  std::map<std::string, std::string> name_at;
  const json& cj = j.at("categories");
  int64_t train_total = 0, heldout_total = 0;
  for (size_t i = 0; i < cj.size(); ++i) {
    const json& c = cj[i];
    const std::string path = "categories[]";
    Category k;
    k.name = c.at("name").get<std::string>();
    k.at = fmt::format("categories[{}] ({})", i, clip(k.name, 40));
    if (k.name == "restate") rules.bad(k.at + ".name", "\"restate\" is reserved (the restatement intent)");
    if (!name_at.emplace(k.name, fmt::format("categories[{}]", i)).second)
      rules.bad(k.at + ".name", fmt::format("the name \"{}\" is used by {} too", k.name, name_at[k.name]));
    k.label = c.contains("label") ? c["label"].get<std::string>() : k.name;
    k.answer_key = c.contains("answer_key") ? c["answer_key"].get<std::string>() : k.name;
    k.harmful = get(c, path, "harmful").get<bool>();
    k.train_templates = strings(c.at("queries").at("train"));
    k.heldout_templates = strings(c.at("queries").at("heldout"));
    k.responses = strings(c.at("responses"));
    k.signature = strings(c.at("signature"));
    const json count = get(c, path, "count");
    k.train_count = get(count, path + ".count", "train").get<int64_t>();
    k.heldout_count = get(count, path + ".count", "heldout").get<int64_t>();
    train_total += k.train_count;
    heldout_total += k.heldout_count;
    for (auto [key, list] :
         {std::pair{"queries.train", &k.train_templates}, std::pair{"queries.heldout", &k.heldout_templates},
          std::pair{"responses", &k.responses}, std::pair{"signature", &k.signature}})
      for (size_t t = 0; t < list->size(); ++t) {
        auto used = check_template(fmt::format("{}.{}[{}]", k.at, key, t), (*list)[t]);
        if (list == &k.heldout_templates) {
          int64_t wordings = 1;
          for (auto& s : used) wordings = saturating_mul(wordings, static_cast<int64_t>(slots.at(s).heldout.size()));
          k.heldout_wordings += wordings;
        }
      }
    check_template(k.at + ".answer_key", k.answer_key);
    cats.push_back(std::move(k));
    w.categories.push_back(cats.back().name);
  }
  {
    std::set<std::string> labels;
    for (auto& k : cats) labels.insert(k.label);
    if (labels.size() < 2)
      rules.bad("categories", fmt::format("every category has the label \"{}\"; clustering and classification need at "
                                          "least 2 different labels",
                                          *labels.begin()));
  }

  // Restatements and harmful documents: their templates, then the totals.
  std::vector<std::string> restate_templates;
  int64_t restate_count = 0;
  if (j.contains("restate")) {
    const json& r = j.at("restate");
    restate_templates = strings(r.at("queries").at("train"));
    const json heldout = get(r.at("queries"), "restate.queries", "heldout");
    restate_count = get(r, "restate", "count").get<int64_t>();
    for (auto [key, list] : {std::pair{"train", restate_templates}, std::pair{"heldout", strings(heldout)}})
      for (size_t t = 0; t < list.size(); ++t) {
        const std::string at = fmt::format("restate.queries.{}[{}]", key, t);
        const Refs refs = template_refs(list[t]);
        bool has_passage = false;
        for (auto& [slot, field] : refs.refs) {
          if (slot != "passage" || field != "name")
            rules.bad(
                at, fmt::format("template '{}': a restate template uses {{passage}} and nothing else, found '{{{}{}}}'",
                                clip(list[t], 80), slot, field == "name" ? "" : "." + field));
          has_passage = true;
        }
        if (!has_passage) rules.bad(at, fmt::format("template '{}' does not use {{passage}}", clip(list[t], 80)));
      }
  }
  std::vector<std::string> document_templates = strings(get(j, "", "harmful_documents"));
  int64_t document_total = 0;
  for (size_t t = 0; t < document_templates.size(); ++t) {
    const std::string at = fmt::format("harmful_documents[{}]", t);
    auto used = check_template(at, document_templates[t]);
    if (used.size() > 1)
      rules.bad(at, fmt::format("template '{}' may use one slot at most (one document per value), found {}",
                                clip(document_templates[t], 80), used.size()));
    document_total +=
        used.empty()
            ? 1
            : static_cast<int64_t>(slots.at(*used.begin()).train.size() + slots.at(*used.begin()).heldout.size());
  }
  if (train_total + restate_count > kMaxTrainRows)
    rules.bad("categories", fmt::format("{} training rows asked (every count.train plus restate.count), at most {}",
                                        train_total + restate_count, kMaxTrainRows));
  if (heldout_total > kMaxHeldoutRows)
    rules.bad("categories", fmt::format("{} held-out queries asked (every count.heldout), at most {}", heldout_total,
                                        kMaxHeldoutRows));
  if (document_total > kMaxHarmfulDocuments)
    rules.bad("harmful_documents",
              fmt::format("makes up to {} documents (templates x values of their slot), at most {}", document_total,
                          kMaxHarmfulDocuments));

  // The world is valid: generate it.
  auto scaled = [&](int64_t n) { return std::max<int64_t>(1, static_cast<int64_t>(std::lround(n * opt.scale))); };
  for (auto& k : cats) {
    k.train_count = scaled(k.train_count);
    k.heldout_count = scaled(k.heldout_count);
  }
  Rng rng(w.seed);
  auto sample = [&](const Category& k, Split split, int64_t n) {
    std::vector<WorldExample> out;
    std::set<std::string> seen;
    const auto& templates = split == Split::Train ? k.train_templates : k.heldout_templates;
    for (int64_t tries = 0; static_cast<int64_t>(out.size()) < n && tries < n * 20; ++tries) {
      const std::string& t = templates[rng.below(templates.size())];
      std::map<std::string, const SlotValue*> bound;
      std::set<std::string> used;
      for (auto* list : {&k.responses, &k.signature})
        for (auto& r : *list)
          for (auto& s : slots_in(r)) used.insert(s);
      for (auto& s : slots_in(t)) used.insert(s);
      for (auto& s : slots_in(k.answer_key)) used.insert(s);
      for (auto& s : used) {
        const auto& vals = split == Split::Train ? slots.at(s).train : slots.at(s).heldout;
        bound[s] = &vals[rng.below(vals.size())];
      }
      const std::string where = src + ": " + k.at;
      WorldExample ex;
      ex.category = k.name;
      ex.label = k.label;
      ex.question = render(t, bound, where);
      // Held-out rows must be new wordings; train rows may repeat (more epochs of a pair).
      if (split == Split::Heldout && !seen.insert(ex.question).second) continue;
      ex.answer = render(k.responses[rng.below(k.responses.size())], bound, where);
      ex.answer_key = render(k.answer_key, bound, where);
      ex.harmful = k.harmful;
      for (auto& s : k.signature) ex.signature.push_back(lower(render(s, bound, where)));
      ex.id = fmt::format("{}-{}-{:04d}", split_name(split), k.name, out.size());
      if (!w.passages.count(ex.answer_key)) {
        // The passage of a key: the first response template rendered with these values.
        w.passages[ex.answer_key] = render(k.responses.front(), bound, where);
        w.passage_category[ex.answer_key] = k.name;
      }
      out.push_back(std::move(ex));
    }
    return out;
  };
  std::set<std::string> train_keys;  // passages a training query leads to
  for (auto& k : cats) {
    auto tr = sample(k, Split::Train, k.train_count);
    for (auto& e : tr) train_keys.insert(e.answer_key);
    auto ho = sample(k, Split::Heldout, k.heldout_count);
    if (ho.empty()) fail("{}: {}: produced no held-out query", src, k.at);
    if (static_cast<int64_t>(ho.size()) < k.heldout_count)
      w.shortfalls.push_back(fmt::format(
          "{}: {} held-out queries of the {} asked: {}", k.at, ho.size(), k.heldout_count,
          static_cast<int64_t>(ho.size()) >= k.heldout_wordings
              ? fmt::format("its held-out templates and values make only {} different wordings (add some, or "
                            "lower count.heldout)",
                            k.heldout_wordings)
              : fmt::format("no new wording in {} random draws (add held-out templates or values)",
                            k.heldout_count * 20)));
    w.train.insert(w.train.end(), tr.begin(), tr.end());
    w.heldout.insert(w.heldout.end(), ho.begin(), ho.end());
  }

  // Harmful documents for the safety corpus: every template with every harm-slot value.
  // Those made from training values may also be restated in training (below).
  std::vector<std::string> train_documents;
  for (auto& t : document_templates) {
    auto used = slots_in(t);
    std::set<std::string> uniq(used.begin(), used.end());
    if (uniq.empty()) {
      w.harmful_documents.push_back(t);
      train_documents.push_back(t);
      continue;
    }
    const std::string s = *uniq.begin();
    std::vector<SlotValue> all = slots.at(s).train;
    for (auto& v : slots.at(s).heldout)
      if (std::find(all.begin(), all.end(), v) == all.end()) all.push_back(v);
    for (size_t i = 0; i < all.size(); ++i) {
      w.harmful_documents.push_back(render(t, {{s, &all[i]}}, src + ": harmful_documents"));
      if (i < slots.at(s).train.size()) train_documents.push_back(w.harmful_documents.back());
    }
  }

  // Restatements: "Summarize the following passage: P" -> P, for the passages training
  // queries lead to and the harmful documents made from training values, so the model
  // (and the adapter) have an answer for the passage side of retrieval: a summarizer
  // repeats what a passage says, harmful or not. Held-out values never appear here.
  if (!restate_templates.empty()) {
    const std::string where = src + ": restate";
    const int64_t n = scaled(restate_count);
    std::vector<std::pair<std::string, std::string>> items;  // (answer key, passage)
    for (auto& [key, p] : w.passages)
      if (train_keys.count(key)) items.emplace_back(key, p);
    for (auto& d : train_documents) items.emplace_back("document", d);
    if (items.empty()) fail("{}: no passage to restate", where);
    for (int64_t i = 0; i < n; ++i) {
      const auto& [key, passage] = items[static_cast<size_t>(i) % items.size()];
      SlotValue pv{{"name", passage}};
      std::map<std::string, const SlotValue*> bound{{"passage", &pv}};
      WorldExample ex;
      ex.id = fmt::format("train-restate-{:04d}", i);
      ex.category = "restate";
      ex.label = "restate";
      ex.question = render(restate_templates[rng.below(restate_templates.size())], bound, where);
      ex.answer = passage;
      ex.answer_key = key;
      w.train.push_back(std::move(ex));
    }
  }

  // What the world asked for and cannot make (README "The demo world"): the report lists
  // it, `genlens demo --strict` refuses.
  std::set<std::string> no_passage;
  bool harmful_heldout = false;
  for (auto& e : w.heldout) {
    harmful_heldout = harmful_heldout || e.harmful;
    auto p = w.passages.find(e.answer_key);
    if ((p == w.passages.end() || p->second.find_first_not_of(" \t\r\n") == std::string::npos) &&
        no_passage.insert(e.answer_key).second)
      w.shortfalls.push_back(
          fmt::format("answer key '{}' ({}) has no passage: its held-out queries have nothing "
                      "to retrieve",
                      e.answer_key, e.category));
  }
  if (!w.harmful_documents.empty() && !harmful_heldout)
    w.shortfalls.push_back(
        "harmful_documents: no safety task: no category has \"harmful\": true, so there is no "
        "harmful query to score");
  if (harmful_heldout && w.harmful_documents.empty())
    w.shortfalls.push_back(
        "categories: no safety task: there are harmful categories but no \"harmful_documents\" "
        "to keep out of their results");
  return w;
}

// ---------------------------------------------------------------- files

void write_world_queries(const WorldData& w, const fs::path& path) {
  io::write_file_atomic_with(path, [&](const fs::path& tmp) {
    io::JsonlWriter out(tmp, io::JsonlWriter::Mode::Truncate);
    for (auto& e : w.train) out.write(nlohmann::ordered_json{{"id", e.id}, {"question", e.question}});
  });
}

void write_world_pairs(const std::vector<WorldExample>& rows, const fs::path& path) {
  io::write_file_atomic_with(path, [&](const fs::path& tmp) {
    io::JsonlWriter out(tmp, io::JsonlWriter::Mode::Truncate);
    for (auto& e : rows)
      out.write(nlohmann::ordered_json{{"id", e.id}, {"question", e.question}, {"answer", e.answer},
                                       {"category", e.category}, {"label", e.label}, {"answer_key", e.answer_key},
                                       {"harmful", e.harmful}, {"signature", e.signature}});
  });
}

namespace {

void write_jsonl(const fs::path& path, const std::vector<nlohmann::ordered_json>& rows) {
  io::write_file_atomic_with(path, [&](const fs::path& tmp) {
    io::JsonlWriter out(tmp, io::JsonlWriter::Mode::Truncate);
    for (auto& r : rows) out.write(r);
  });
}

std::vector<const WorldExample*> eval_rows(const std::vector<WorldExample>& rows) {
  std::vector<const WorldExample*> out;
  for (auto& e : rows)
    if (e.category != "restate") out.push_back(&e);
  return out;
}

}  // namespace

void write_world_tasks(const WorldData& w, const fs::path& dir) {
  using oj = nlohmann::ordered_json;
  const auto held = eval_rows(w.heldout);
  fs::create_directories(dir);
  // Passage ids, stable: "p" + index in key order.
  std::map<std::string, std::string> pid;
  for (auto& [key, text] : w.passages) pid[key] = fmt::format("p{:03d}", pid.size());

  io::write_dir_atomic(dir / "clustering", [&](const fs::path& t) {
    io::write_file_atomic(t / "task.json", oj{{"type", "clustering"}, {"name", w.name + "-clustering"},
                                              {"instruction", w.instructions.clustering}}.dump(2));
    std::vector<oj> rows;
    for (auto* e : held) rows.push_back(oj{{"text", e->question}, {"label", e->label}});
    write_jsonl(t / "texts.jsonl", rows);
  });

  io::write_dir_atomic(dir / "classification", [&](const fs::path& t) {
    io::write_file_atomic(t / "task.json", oj{{"type", "classification"}, {"name", w.name + "-classification"},
                                              {"instruction", w.instructions.classification}}.dump(2));
    // Train: up to 16 training queries per label (a few-shot probe), test: held-out.
    std::map<std::string, int> per_label;
    std::vector<oj> train, test;
    for (auto* e : eval_rows(w.train))
      if (per_label[e->label]++ < 16) train.push_back(oj{{"text", e->question}, {"label", e->label}});
    for (auto* e : held) test.push_back(oj{{"text", e->question}, {"label", e->label}});
    write_jsonl(t / "train.jsonl", train);
    write_jsonl(t / "test.jsonl", test);
  });

  auto write_retrieval = [&](const fs::path& t, const std::string& type, const std::vector<const WorldExample*>& qs,
                             bool with_harmful_docs) {
    io::write_file_atomic(t / "task.json", oj{{"type", type}, {"name", w.name + "-" + type},
                                              {"query_instruction", w.instructions.query},
                                              {"passage_instruction", w.instructions.passage}}.dump(2));
    std::vector<oj> corpus, queries;
    for (auto& [key, text] : w.passages) {
      oj row{{"_id", pid.at(key)}, {"text", text}};
      if (with_harmful_docs) row["harmful"] = false;
      corpus.push_back(row);
    }
    if (with_harmful_docs)
      for (size_t i = 0; i < w.harmful_documents.size(); ++i)
        corpus.push_back(oj{{"_id", fmt::format("h{:03d}", i)}, {"text", w.harmful_documents[i]}, {"harmful", true}});
    std::string qrels = "query-id\tcorpus-id\tscore\n";
    for (auto* e : qs) {
      queries.push_back(oj{{"_id", e->id}, {"text", e->question}});
      qrels += e->id + "\t" + pid.at(e->answer_key) + "\t1\n";
    }
    write_jsonl(t / "corpus.jsonl", corpus);
    write_jsonl(t / "queries.jsonl", queries);
    io::write_file_atomic(t / "qrels.tsv", qrels);
  };
  io::write_dir_atomic(dir / "retrieval", [&](const fs::path& t) { write_retrieval(t, "retrieval", held, false); });
  std::vector<const WorldExample*> harmful;
  for (auto* e : held)
    if (e->harmful) harmful.push_back(e);
  if (!harmful.empty() && !w.harmful_documents.empty())
    io::write_dir_atomic(dir / "safety", [&](const fs::path& t) { write_retrieval(t, "safety", harmful, true); });

  // STS: pairs of held-out queries; 1 = same answer, 0.5 = same label, 0 = otherwise.
  io::write_dir_atomic(dir / "sts", [&](const fs::path& t) {
    io::write_file_atomic(t / "task.json", oj{{"type", "sts"}, {"name", w.name + "-sts"},
                                              {"instruction", w.instructions.sts}}.dump(2));
    Rng rng(w.seed + 17);
    std::vector<oj> rows;
    const size_t n = held.size();
    for (size_t k = 0; k < 3 * n && n > 1; ++k) {
      const WorldExample* a = held[rng.below(n)];
      const WorldExample* b = nullptr;
      // A third of the pairs share the answer, a third share the label, a third are random.
      for (int tries = 0; tries < 50 && !b; ++tries) {
        const WorldExample* c = held[rng.below(n)];
        if (c == a) continue;
        if (k % 3 == 0 && c->answer_key != a->answer_key) continue;
        if (k % 3 == 1 && c->label != a->label) continue;
        b = c;
      }
      if (!b) continue;
      double score = a->answer_key == b->answer_key ? 1.0 : a->label == b->label ? 0.5 : 0.0;
      rows.push_back(oj{{"text1", a->question}, {"text2", b->question}, {"score", score}});
    }
    write_jsonl(t / "pairs.jsonl", rows);
  });
}

}  // namespace genlens::demo
