// The demo world generator: world file -> examples. See demo_world.h; the schema every
// field is checked against is demo_world_schema.cpp, the task folders demo_world_tasks.cpp.
#include "core/data/demo_world.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "core/data/demo_world_rng.h"
#include "core/data/demo_world_schema.h"
#include "core/io/jsonl.h"
#include "core/util/error.h"
#include "genlens_paths.h"
#include "core/text/unicode.h"

namespace genlens::demo {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

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

int64_t saturating_mul(int64_t a, int64_t b) {
  constexpr int64_t cap = int64_t{1} << 40;
  return a == 0 || b == 0 ? 0 : (a > cap / b ? cap : a * b);
}

}  // namespace

fs::path default_world_file() {
  if (const char* env = std::getenv("GENLENS_DEMO_WORLD"); env && *env) return env;
  return fs::path(GENLENS_SOURCE_DIR) / "assets/demo/world.json";
}

std::vector<WorldExample> read_world_examples(const std::filesystem::path& p) {
  std::vector<WorldExample> out;
  io::JsonlReader r(p);
  io::Json row;
  while (r.next(row)) {
    WorldExample e;
    e.id = r.get_id(row);
    e.question = r.get_string(row, "question");
    e.answer = r.get_string(row, "answer");
    e.category = r.get_string_opt(row, "category").value_or("");
    e.label = r.get_string_opt(row, "label").value_or("");
    e.answer_key = r.get_string_opt(row, "answer_key").value_or("");
    if (auto h = row.find("harmful"); h != row.end()) {
      if (!h->is_boolean()) fail("{}: field \"harmful\": expected true or false, found {}", r.where(), h->dump());
      e.harmful = h->get<bool>();
    }
    if (auto sig = row.find("signature"); sig != row.end()) {
      if (!sig->is_array()) fail("{}: field \"signature\": expected an array of strings", r.where());
      for (auto& w : *sig) {
        if (!w.is_string()) fail("{}: field \"signature\": expected an array of strings, found {}", r.where(), w.dump());
        e.signature.push_back(w.get<std::string>());
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

bool right_kind(const WorldExample& ex, const std::string& response) {
  const std::string r = text::unicode::ascii_lower(response);
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
  w.seed = value_or_default(j, "", "seed").get<uint64_t>() + static_cast<uint64_t>(opt.seed_offset);
  {
    const json in = value_or_default(j, "", "instructions");
    for (auto [key, dst] :
         {std::pair{"clustering", &w.instructions.clustering},
          std::pair{"classification", &w.instructions.classification}, std::pair{"sts", &w.instructions.sts},
          std::pair{"query", &w.instructions.query}, std::pair{"passage", &w.instructions.passage}})
      *dst = value_or_default(in, "instructions", key).get<std::string>();
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
    k.harmful = value_or_default(c, path, "harmful").get<bool>();
    k.train_templates = strings(c.at("queries").at("train"));
    k.heldout_templates = strings(c.at("queries").at("heldout"));
    k.responses = strings(c.at("responses"));
    k.signature = strings(c.at("signature"));
    const json count = value_or_default(c, path, "count");
    k.train_count = value_or_default(count, path + ".count", "train").get<int64_t>();
    k.heldout_count = value_or_default(count, path + ".count", "heldout").get<int64_t>();
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
    const json heldout = value_or_default(r.at("queries"), "restate.queries", "heldout");
    restate_count = value_or_default(r, "restate", "count").get<int64_t>();
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
  std::vector<std::string> document_templates = strings(value_or_default(j, "", "harmful_documents"));
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
      for (auto& s : k.signature) ex.signature.push_back(text::unicode::ascii_lower(render(s, bound, where)));
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

}  // namespace genlens::demo
