// The last step of a latent-index build and of a merge of parts: hnsw.bin over the
// committed shards (when the spec asks for it), then index.json marked complete.
#pragma once
#include "core/analysis/latent_index.h"
#include "core/analysis/latent_index_state.h"

namespace genlens::analysis {

LatentIndexInfo finish_latent_index(runtime::JobContext& ctx, const LatentIndexSpec& spec, LatentIndexState& state);

}  // namespace genlens::analysis
