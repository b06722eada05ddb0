// The latent lens query (docs/ARCHITECTURE.md §7.1): the special-token states of a query at one
// encoder layer, cosine top-k against a latent index (core/analysis/latent_index.h)
// -> for each position the indexed tokens whose states are nearest, with their layer,
// similarity and context. Without an adapter, the query's ordinary tokens are used.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/analysis/latent_index.h"
#include "core/analysis/lens_types.h"

namespace genlens::gen {
class Adapter;
}

namespace genlens::analysis {

struct LatentLensOptions {
  std::string instruction;
  int64_t max_length = 512;
  int64_t encoder_layer = -1;  // of the query's hidden states; -1 = last (L)
  int64_t index_layer = -1;    // -1: all layers of the index
  int64_t top_k = 10;
  SearchKind search = SearchKind::Auto;  // auto: hnsw when the index has one
  int64_t ef = 200;
  bool compression_only = false;  // with an adapter: skip the thought tokens
};

LatentLensResult latent_lens(const model::DecoderLM& lm, const gen::Adapter* adapter, const text::Tokenizer& tok,
                             const LatentIndex& index, const std::string& query, const LatentLensOptions& opt);

}  // namespace genlens::analysis
