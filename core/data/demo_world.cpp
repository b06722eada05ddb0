// The demo world generator: world file -> examples -> task folders. See demo_world.h.
#include "core/data/demo_world.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>
#include <set>

#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"
#include "core/util/error.h"

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
};

struct Category {
  std::string name, label, answer_key;
  bool harmful = false;
  std::vector<std::string> train_templates, heldout_templates, responses, signature;
  int64_t train_count = 0, heldout_count = 0;
};

// Slot names a template uses: "{country.name}" -> "country".
std::vector<std::string> slots_in(const std::string& t) {
  std::vector<std::string> out;
  for (size_t i = 0; (i = t.find('{', i)) != std::string::npos;) {
    size_t j = t.find('}', i);
    if (j == std::string::npos) break;
    std::string ref = t.substr(i + 1, j - i - 1);
    out.push_back(ref.substr(0, ref.find('.')));
    i = j + 1;
  }
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
    if (it == bound.end()) fail("{}: template '{}' uses slot '{}', which the world's \"slots\" do not define", where, t, slot);
    auto f = it->second->find(field);
    if (f == it->second->end())
      fail("{}: template '{}' uses '{{{}}}', but values of slot '{}' have no field '{}'", where, t, ref, slot, field);
    out += f->second;
    i = b + 1;
  }
  return out;
}

std::vector<SlotValue> read_values(const json& arr, const std::string& where) {
  if (!arr.is_array() || arr.empty()) fail("{}: expected a non-empty array of strings or objects", where);
  std::vector<SlotValue> out;
  for (size_t i = 0; i < arr.size(); ++i) {
    const json& v = arr[i];
    SlotValue sv;
    if (v.is_string()) {
      sv["name"] = v.get<std::string>();
    } else if (v.is_object()) {
      for (auto& [k, x] : v.items()) {
        if (!x.is_string()) fail("{}[{}].{}: expected a string, found {}", where, i, k, x.dump());
        sv[k] = x.get<std::string>();
      }
      if (!sv.count("name")) fail("{}[{}]: an object value needs a \"name\" field", where, i);
    } else {
      fail("{}[{}]: expected a string or an object, found {}", where, i, v.dump());
    }
    out.push_back(std::move(sv));
  }
  return out;
}

std::vector<std::string> read_strings(const json& j, const char* key, const std::string& where, bool required = true) {
  if (!j.contains(key)) {
    if (required) fail("{}: missing field \"{}\"", where, key);
    return {};
  }
  const json& a = j.at(key);
  if (!a.is_array() || (required && a.empty()))
    fail("{}.{}: expected a non-empty array of strings, found {}", where, key, a.dump().substr(0, 80));
  std::vector<std::string> out;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string()) fail("{}.{}[{}]: expected a string, found {}", where, key, i, a[i].dump());
    out.push_back(a[i].get<std::string>());
  }
  return out;
}

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

}  // namespace

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
  const json j = io::read_json_file(file);
  if (!j.is_object()) fail("{}: expected a JSON object (see README \"The demo world\")", src);
  WorldData w;
  w.name = j.value("name", file.stem().string());
  w.seed = j.value("seed", uint64_t{0}) + static_cast<uint64_t>(opt.seed_offset);
  if (j.contains("instructions")) {
    const json& in = j.at("instructions");
    if (!in.is_object()) fail("{}: \"instructions\" must be an object", src);
    auto get = [&](const char* k, std::string& dst) {
      if (in.contains(k)) {
        if (!in.at(k).is_string()) fail("{}: instructions.{}: expected a string", src, k);
        dst = in.at(k).get<std::string>();
      }
    };
    get("clustering", w.instructions.clustering);
    get("classification", w.instructions.classification);
    get("sts", w.instructions.sts);
    get("query", w.instructions.query);
    get("passage", w.instructions.passage);
  }

  // Slots.
  std::map<std::string, Slot> slots;
  if (!j.contains("slots") || !j.at("slots").is_object()) fail("{}: missing object \"slots\"", src);
  for (auto& [name, v] : j.at("slots").items()) {
    const std::string where = src + ": slots." + name;
    if (name == "passage") fail("{}: 'passage' is reserved (restatements fill it with answer passages)", where);
    Slot s;
    if (v.is_array()) {
      s.train = s.heldout = read_values(v, where);
    } else if (v.is_object() && v.contains("all")) {
      s.train = s.heldout = read_values(v.at("all"), where + ".all");
    } else if (v.is_object() && v.contains("train") && v.contains("heldout")) {
      s.train = read_values(v.at("train"), where + ".train");
      s.heldout = read_values(v.at("heldout"), where + ".heldout");
    } else {
      fail("{}: expected an array (shared values), {{\"all\": [...]}} or {{\"train\": [...], \"heldout\": [...]}}", where);
    }
    slots[name] = std::move(s);
  }

  // Categories.
  if (!j.contains("categories") || !j.at("categories").is_array() || j.at("categories").empty())
    fail("{}: missing non-empty array \"categories\"", src);
  std::vector<Category> cats;
  std::set<std::string> names;
  for (size_t i = 0; i < j.at("categories").size(); ++i) {
    const json& c = j.at("categories")[i];
    std::string where = fmt::format("{}: categories[{}]", src, i);
    if (!c.is_object() || !c.contains("name") || !c.at("name").is_string())
      fail("{}: expected an object with a string \"name\"", where);
    Category k;
    k.name = c.at("name").get<std::string>();
    where += " (" + k.name + ")";
    if (!names.insert(k.name).second || k.name == "restate") fail("{}: the name is used twice or reserved", where);
    k.label = c.value("label", k.name);
    k.answer_key = c.value("answer_key", k.name);
    k.harmful = c.value("harmful", false);
    if (!c.contains("queries") || !c.at("queries").is_object()) fail("{}: missing object \"queries\"", where);
    k.train_templates = read_strings(c.at("queries"), "train", where + ".queries");
    k.heldout_templates = read_strings(c.at("queries"), "heldout", where + ".queries");
    k.responses = read_strings(c, "responses", where);
    k.signature = read_strings(c, "signature", where);
    auto count = c.value("count", json{{"train", 60}, {"heldout", 16}});
    if (!count.is_object() || !count.value("train", json()).is_number_integer() ||
        !count.value("heldout", json()).is_number_integer())
      fail("{}: \"count\" must be {{\"train\": N, \"heldout\": M}}", where);
    auto scaled = [&](int64_t n) { return std::max<int64_t>(1, static_cast<int64_t>(std::lround(n * opt.scale))); };
    k.train_count = scaled(count["train"].get<int64_t>());
    k.heldout_count = scaled(count["heldout"].get<int64_t>());
    // Every slot a template uses must exist (checked here, before any sampling).
    for (auto* list : {&k.train_templates, &k.heldout_templates, &k.responses, &k.signature})
      for (auto& t : *list)
        for (auto& s : slots_in(t))
          if (!slots.count(s)) fail("{}: template '{}' uses slot '{}', which \"slots\" does not define", where, t, s);
    for (auto& s : slots_in(k.answer_key))
      if (!slots.count(s)) fail("{}: answer_key '{}' uses undefined slot '{}'", where, k.answer_key, s);
    cats.push_back(std::move(k));
    w.categories.push_back(cats.back().name);
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
      const std::string where = src + ": category " + k.name;
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
    if (ho.empty()) fail("{}: category {} produced no held-out query", src, k.name);
    w.train.insert(w.train.end(), tr.begin(), tr.end());
    w.heldout.insert(w.heldout.end(), ho.begin(), ho.end());
  }

  // Harmful documents for the safety corpus: every template with every harm-slot value.
  // Those made from training values may also be restated in training (below).
  std::vector<std::string> train_documents;
  for (auto& t : read_strings(j, "harmful_documents", src, /*required=*/false)) {
    auto used = slots_in(t);
    std::set<std::string> uniq(used.begin(), used.end());
    if (uniq.size() > 1) fail("{}: harmful_documents template '{}' may use one slot at most", src, t);
    if (uniq.empty()) {
      w.harmful_documents.push_back(t);
      train_documents.push_back(t);
      continue;
    }
    const std::string s = *uniq.begin();
    if (!slots.count(s)) fail("{}: harmful_documents template '{}' uses undefined slot '{}'", src, t, s);
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
  if (j.contains("restate")) {
    const json& r = j.at("restate");
    const std::string where = src + ": restate";
    auto templates = read_strings(r.at("queries"), "train", where + ".queries");
    int64_t n = std::max<int64_t>(1, std::lround(r.value("count", 100) * opt.scale));
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
      ex.question = render(templates[rng.below(templates.size())], bound, where);
      ex.answer = passage;
      ex.answer_key = key;
      w.train.push_back(std::move(ex));
    }
  }
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
