// index.json of a latent index (the format is described in latent_index.h): what a build
// has committed, as a plain struct, read and written only here. A build rewrites it after
// every shard and a stopped build resumes from it; a merge of parts starts from the first
// part's; an opened index takes its shards from it.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/analysis/lens_types.h"
#include "core/gen/adapter_meta.h"

namespace genlens::analysis {

inline constexpr const char* kLatentIndexFormat = "genlens-latent-index";
inline constexpr int kLatentIndexVersion = 1;

// The settings a resumed build must share with the stopped one (and the parts of a sharded
// build with each other).
struct LatentIndexSettings {
  std::string corpus;  // absolute path
  std::string corpus_hash;
  std::string field;
  std::vector<int64_t> layers;
  int64_t max_per_token = 0, max_tokens_per_row = 0, context_chars = 0, max_rows = 0;
  bool operator==(const LatentIndexSettings& o) const;
  bool operator!=(const LatentIndexSettings& o) const { return !(*this == o); }
};

struct LatentIndexShard {
  std::string file;  // in the index directory
  int64_t n = 0;     // entries
};

// Which slice of the rows a part of a sharded build holds.
struct LatentIndexPart {
  int64_t part = 0, parts = 1, row_begin = 0, row_end = 0;
  bool operator==(const LatentIndexPart& o) const;
  bool operator!=(const LatentIndexPart& o) const { return !(*this == o); }
};

struct LatentIndexState {
  int64_t hidden = 0;
  std::vector<int64_t> layers;
  int64_t n_entries = 0;
  int64_t n_rows = 0;     // corpus rows read
  int64_t rows_done = 0;  // rows whose entries are committed
  uint64_t entries_bytes = 0;  // committed length of entries.jsonl (a resume truncates there)
  bool complete = false, has_hnsw = false;
  gen::BaseModelIdentity model;
  LatentIndexSettings settings;
  std::vector<LatentIndexShard> shards;
  std::optional<LatentIndexPart> part;  // set in a part of a sharded build

  nlohmann::json to_json() const;
  // Errors name `file` and the field. Absent fields read as their defaults.
  static LatentIndexState from_json(const nlohmann::json& j, const std::string& file);
  // DIR/index.json, checked to be this format and version.
  static LatentIndexState read(const std::filesystem::path& dir);
  void write(const std::filesystem::path& dir) const;  // DIR/index.json, atomically
  LatentIndexInfo info(const std::filesystem::path& dir) const;
};

// The file name of the i-th shard.
std::string latent_shard_name(size_t i);

}  // namespace genlens::analysis
