// The hidden state "at layer l" the analysis code compares, following Hugging Face's
// output_hidden_states (what the reference's latentlens reads): layers 0..L-1 are the
// residual stream (embeddings output, then each layer's output), layer L is the final
// normed last_hidden_state. (DecoderLM's hidden_states[L] is before the final norm.)
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "core/analysis/lens_types.h"
#include "core/model/decoder_lm.h"

namespace genlens::gen {
class Adapter;
}
namespace genlens::text {
class Tokenizer;
}

namespace genlens::analysis {

inline torch::Tensor layer_state(const model::DecoderLM& lm, const model::ForwardOutput& out, int64_t layer) {
  if (layer == lm.config().num_hidden_layers) return out.last_hidden;
  return out.hidden_states[static_cast<size_t>(layer)];
}

// One query's encoder pass with every layer's hidden state: the query ids, then (with an
// adapter) its thought and compression tokens, exactly as encode builds them. Shared by
// the logit lens and the latent lens (defined in lens.cpp).
struct QueryStates {
  model::ForwardOutput out;
  int64_t n_thought = 0, n_compression = 0;
};
QueryStates query_states(const model::DecoderLM& lm, const gen::Adapter* adapter, const std::vector<int32_t>& ids);

// The positions `first` .. end of that input, labelled as the lenses show them: an
// ordinary token by its readable piece, thought tokens "T0", "T1", ..., compression
// tokens "C0", "C1", ... (defined in lens.cpp).
std::vector<LensPosition> query_positions(const text::Tokenizer& tok, const std::vector<int32_t>& ids,
                                          const QueryStates& states, int64_t first);

}  // namespace genlens::analysis
