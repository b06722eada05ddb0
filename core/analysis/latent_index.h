// The latent-lens index (docs/ARCHITECTURE.md §7.1, `latentlens`): per-token hidden states of the
// frozen LLM over a corpus at chosen layers, L2-normalised, each with its token, corpus
// row, position and a context snippet. At most `max_per_token` contexts per token id;
// a token whose prefix (all ids up to and including it) was already indexed is dropped
// (a causal LM gives it exactly the same states).
//
// On-disk format (a directory; version 1):
//   index.json               {"format": "genlens-latent-index", "version": 1, "hidden", "layers",
//                             "n_entries", "n_rows", "complete", "model": {path, identity},
//                             "settings": {...}, "shards": [{"file", "n"}...]}
//   shard-00000.safetensors  "vectors" float32 [n, H] (unit rows), "token_ids" int32 [n],
//                            "rows" int64 [n], "positions" int32 [n], "layers" int32 [n]
//   entries.jsonl            one line per entry, same order: {"e", "token", "text", "row",
//                             "pos", "layer", "context"}
//   hnsw.bin                 optional hnswlib HierarchicalNSW (inner product), label = entry
// Entries are numbered across shards in order. A build writes a shard whenever
// `shard_entries` entries are buffered (and at least every 30 s), so memory stays bounded; index.json is rewritten
// (atomically) after each shard with the rows consumed, so a stopped build resumes there.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/analysis/lens_types.h"

namespace genlens::model {
class DecoderLM;
}
namespace genlens::text {
class Tokenizer;
}
namespace genlens::runtime {
class JobContext;
}

namespace genlens::analysis {

struct LatentIndexSpec {
  std::filesystem::path corpus;        // JSONL
  std::string field = "answer";        // text field; only this default falls back to "text", then "question"
  std::filesystem::path out;           // index directory
  std::vector<int64_t> layers;         // empty: default_index_layers(L)
  int64_t max_per_token = 50;
  int64_t max_tokens_per_row = 256;    // longer rows are cut
  int64_t batch_size = 8;
  int64_t context_chars = 80;          // snippet: the text before the token, tail kept
  int64_t shard_entries = 65536;
  int64_t max_rows = 0;                // 0: all
  bool hnsw = true;                    // also build hnsw.bin at the end
  int hnsw_m = 16;
  int hnsw_ef_construction = 100;
  bool resume = true;                  // continue a stopped build in `out`
  // A part of a sharded build (several processes): the k-th of K slices of the rows
  // (cut at batch boundaries), no hnsw. Earlier rows still pass through the token selector (tokenized, not run through
  // the model), so a part holds exactly the entries the one-process build takes from
  // its rows; merge_latent_index_parts joins the parts in order. -1: the whole corpus.
  int part = -1, parts = 1;
};

// The reference's default layers 1, 2, 4, 8, 16, 24, L-2, L-1 (those in 1..L), deduplicated.
std::vector<int64_t> default_index_layers(int64_t n_layers);

// The build Job's body. `model_dir` is recorded (and fingerprinted) in index.json.
LatentIndexInfo build_latent_index(runtime::JobContext& ctx, const model::DecoderLM& lm, const text::Tokenizer& tok,
                                   const std::filesystem::path& model_dir, const LatentIndexSpec& spec);

// Joins the finished parts (in order) into `spec.out`, renumbering entries, then builds
// hnsw.bin: the index the one-process build writes (same entries, vectors, index.json;
// shard files cut where the parts ended). Rerunning after a stop redoes the merge; the
// parts are removed once the merged index is complete.
LatentIndexInfo merge_latent_index_parts(runtime::JobContext& ctx, const LatentIndexSpec& spec,
                                         const std::vector<std::filesystem::path>& parts);

LatentIndexInfo read_latent_index_info(const std::filesystem::path& dir);

enum class SearchKind { Auto, Exact, Hnsw };
SearchKind parse_search_kind(const std::string& s);  // auto | exact | hnsw

// An opened index: vectors memory-mapped shard by shard, metadata in memory.
class LatentIndex {
 public:
  static std::unique_ptr<LatentIndex> open(const std::filesystem::path& dir);
  ~LatentIndex();
  const LatentIndexInfo& info() const;
  int64_t size() const;
  int64_t dim() const;
  // Top-k by cosine for each query row (queries [nq, dim], row-major; normalised here).
  // layer < 0: all layers. Exact: blocked matrix products over the shards. Hnsw: the
  // approximate index (all layers only; a layer filter oversamples and filters).
  std::vector<std::vector<std::pair<int64_t, float>>> search(const std::vector<float>& queries, int64_t nq,
                                                             int64_t k, int64_t layer, SearchKind kind,
                                                             int64_t ef = 200) const;
  LatentHit hit(int64_t entry, float similarity) const;
  std::vector<float> vector(int64_t entry) const;  // the stored unit vector

  struct Impl;
  explicit LatentIndex(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace genlens::analysis
