// Batched generation with a KV cache: greedy or sampled (temperature, top-p, seed),
// stop on any EOS id, max new tokens, prefix given as ids or as embeddings (the
// method decodes from soft prompts alone).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "core/model/decoder_lm.h"

namespace genlens::model {

struct GenerateOptions {
  int max_new_tokens = 500;
  bool sample = false;
  float temperature = 1.0f;
  float top_p = 1.0f;
  uint64_t seed = 0;
  std::vector<int64_t> eos_ids;  // stop when any is produced (it is not returned)
  // Streaming: called with (row, id) for each token as it is added to a row's output, in
  // order (EOS excluded), before the next step is computed. An exception thrown here
  // (a cancelled job) ends generation and propagates.
  std::function<void(int64_t row, int64_t id)> on_token;
};

// Throws genlens::Error naming the flag (--top-p, --temperature, --max-new-tokens) when
// an option is out of range; callers check before they create any output.
void check_options(const GenerateOptions& opt);

// prefix_embeds [B, T, H] with attention_mask [B, T] (left padded).
// Returns the new token ids of each row (EOS excluded).
std::vector<std::vector<int64_t>> generate(const DecoderLM& lm, const torch::Tensor& prefix_embeds,
                                           const torch::Tensor& attention_mask,
                                           const GenerateOptions& opt);

// Convenience: ragged id prompts, left padded internally.
std::vector<std::vector<int64_t>> generate_from_ids(const DecoderLM& lm,
                                                    const std::vector<std::vector<int64_t>>& prompts,
                                                    const GenerateOptions& opt);

}  // namespace genlens::model
