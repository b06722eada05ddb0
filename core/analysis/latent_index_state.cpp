#include "core/analysis/latent_index_state.h"

#include <fmt/format.h>

#include <tuple>

#include "core/analysis/latent_index.h"
#include "core/io/atomic_file.h"
#include "core/io/json_check.h"
#include "core/util/error.h"

namespace genlens::analysis {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool LatentIndexSettings::operator==(const LatentIndexSettings& o) const {
  return std::tie(corpus, corpus_hash, field, layers, max_per_token, max_tokens_per_row, context_chars, max_rows) ==
         std::tie(o.corpus, o.corpus_hash, o.field, o.layers, o.max_per_token, o.max_tokens_per_row, o.context_chars,
                  o.max_rows);
}

bool LatentIndexPart::operator==(const LatentIndexPart& o) const {
  return std::tie(part, parts, row_begin, row_end) == std::tie(o.part, o.parts, o.row_begin, o.row_end);
}

std::string latent_shard_name(size_t i) { return fmt::format("shard-{:05d}.safetensors", i); }

namespace {

json settings_json(const LatentIndexSettings& s) {
  return {{"corpus", s.corpus},
          {"corpus_hash", s.corpus_hash},
          {"field", s.field},
          {"layers", s.layers},
          {"max_per_token", s.max_per_token},
          {"max_tokens_per_row", s.max_tokens_per_row},
          {"context_chars", s.context_chars},
          {"max_rows", s.max_rows}};
}

// Typed reads of one index.json; an absent (or null) field is its default.
struct Reader {
  io::JsonCheck check;
  std::string str(const json& v, const char* key, const std::string& at) const {
    return check.string_field(v, key, at).value_or("");
  }
  int64_t whole(const json& v, const char* key, const std::string& at) const {
    return check.whole_field(v, key, at).value_or(0);
  }
  bool flag(const json& v, const char* key, const std::string& at) const {
    auto it = v.find(key);
    if (it == v.end() || it->is_null()) return false;
    if (!it->is_boolean()) check.bad(io::json_path(at, key), "expected true or false, found " + io::describe_json(*it));
    return it->get<bool>();
  }
  std::vector<int64_t> wholes(const json& v, const char* key, const std::string& at) const {
    std::vector<int64_t> out;
    auto it = v.find(key);
    if (it == v.end() || it->is_null()) return out;
    const std::string path = io::json_path(at, key);
    if (!it->is_array()) check.bad(path, "expected an array of whole numbers, found " + io::describe_json(*it));
    for (size_t i = 0; i < it->size(); ++i) {
      const json& e = (*it)[i];
      if (!e.is_number_integer())
        check.bad(fmt::format("{}[{}]", path, i), "expected a whole number, found " + io::describe_json(e));
      out.push_back(e.get<int64_t>());
    }
    return out;
  }
  // v[key] as an object, or nullptr when absent.
  const json* object(const json& v, const char* key, const std::string& at) const {
    return check.object_field(v, key, at);
  }
};

}  // namespace

json LatentIndexState::to_json() const {
  json j{{"format", kLatentIndexFormat},
         {"version", kLatentIndexVersion},
         {"hidden", hidden},
         {"layers", layers},
         {"n_entries", n_entries},
         {"n_rows", n_rows},
         {"rows_done", rows_done},
         {"entries_bytes", entries_bytes},
         {"complete", complete},
         {"has_hnsw", has_hnsw},
         {"model", model.to_json()},
         {"settings", settings_json(settings)},
         {"shards", json::array()}};
  for (const auto& s : shards) j["shards"].push_back({{"file", s.file}, {"n", s.n}});
  if (part)
    j["part"] = {{"part", part->part}, {"parts", part->parts}, {"row_begin", part->row_begin}, {"row_end", part->row_end}};
  return j;
}

LatentIndexState LatentIndexState::from_json(const json& j, const std::string& file) {
  const Reader r{io::JsonCheck(file)};
  r.check.object(j, "");
  LatentIndexState s;
  s.hidden = r.whole(j, "hidden", "");
  s.layers = r.wholes(j, "layers", "");
  s.n_entries = r.whole(j, "n_entries", "");
  s.n_rows = r.whole(j, "n_rows", "");
  s.rows_done = r.whole(j, "rows_done", "");
  const int64_t bytes = r.whole(j, "entries_bytes", "");
  if (bytes < 0) r.check.bad("entries_bytes", fmt::format("expected a byte count >= 0, found {}", bytes));
  s.entries_bytes = static_cast<uint64_t>(bytes);
  s.complete = r.flag(j, "complete", "");
  s.has_hnsw = r.flag(j, "has_hnsw", "");
  if (const json* m = r.object(j, "model", "")) s.model = gen::BaseModelIdentity::from_json(*m, file + ": model");
  if (const json* st = r.object(j, "settings", "")) {
    auto& t = s.settings;
    t.corpus = r.str(*st, "corpus", "settings");
    t.corpus_hash = r.str(*st, "corpus_hash", "settings");
    t.field = r.str(*st, "field", "settings");
    t.layers = r.wholes(*st, "layers", "settings");
    t.max_per_token = r.whole(*st, "max_per_token", "settings");
    t.max_tokens_per_row = r.whole(*st, "max_tokens_per_row", "settings");
    t.context_chars = r.whole(*st, "context_chars", "settings");
    t.max_rows = r.whole(*st, "max_rows", "settings");
  }
  if (auto it = j.find("shards"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) r.check.bad("shards", "expected an array, found " + io::describe_json(*it));
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string at = fmt::format("shards[{}]", i);
      r.check.object((*it)[i], at);
      s.shards.push_back({r.str((*it)[i], "file", at), r.whole((*it)[i], "n", at)});
    }
  }
  if (const json* p = r.object(j, "part", ""))
    s.part = LatentIndexPart{r.whole(*p, "part", "part"), r.whole(*p, "parts", "part"), r.whole(*p, "row_begin", "part"),
                             r.whole(*p, "row_end", "part")};
  return s;
}

LatentIndexState LatentIndexState::read(const fs::path& dir) {
  auto p = dir / "index.json";
  if (!fs::exists(p)) fail("{}: not a latent index (no index.json; build one with `genlens latent-index`)", dir.string());
  auto j = io::read_json_file(p);
  if (j.value("format", "") != kLatentIndexFormat)
    fail("{}: field format: expected \"{}\", found {}", p.string(), kLatentIndexFormat,
         j.value("format", std::string("none")));
  if (j.value("version", 0) != kLatentIndexVersion)
    fail("{}: field version: expected {}, found {}", p.string(), kLatentIndexVersion, j.value("version", 0));
  return from_json(j, p.string());
}

void LatentIndexState::write(const fs::path& dir) const { io::write_file_atomic(dir / "index.json", to_json().dump(1)); }

LatentIndexInfo LatentIndexState::info(const fs::path& dir) const {
  LatentIndexInfo info;
  info.dir = dir.string();
  info.n_entries = n_entries;
  info.hidden = hidden;
  info.layers = layers;
  info.n_rows = n_rows;
  info.complete = complete;
  info.has_hnsw = has_hnsw;
  info.model_path = model.path;
  info.weights_fingerprint = model.weights_fingerprint;
  return info;
}

LatentIndexInfo read_latent_index_info(const fs::path& dir) { return LatentIndexState::read(dir).info(dir); }

}  // namespace genlens::analysis
