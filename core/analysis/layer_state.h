// The hidden state "at layer l" the analysis code compares, following Hugging Face's
// output_hidden_states (what the reference's latentlens reads): layers 0..L-1 are the
// residual stream (embeddings output, then each layer's output), layer L is the final
// normed last_hidden_state. (DecoderLM's hidden_states[L] is before the final norm.)
#pragma once
#include <torch/torch.h>

#include "core/model/decoder_lm.h"

namespace genlens::analysis {

inline torch::Tensor layer_state(const model::DecoderLM& lm, const model::ForwardOutput& out, int64_t layer) {
  if (layer == lm.config().num_hidden_layers) return out.last_hidden;
  return out.hidden_states[static_cast<size_t>(layer)];
}

}  // namespace genlens::analysis
