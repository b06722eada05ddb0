// Decoding an embedding back to text (docs/ARCHITECTURE.md §2, §7): the soft prompts S = recon(C)
// of a query are the whole decoder input (no BOS, no chat template), greedy or sampled
// with a KV cache, stopping at any EOS id -- the path the reconstruction loss trains.
// Next to it the LLM's own answer to the query (chat template, as `generate`), and the
// interpolation (1-t)*S_a + t*S_b between two queries.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/analysis/lens_types.h"

namespace genlens::model {
class DecoderLM;
}
namespace genlens::gen {
class Adapter;
}
namespace genlens::text {
class Tokenizer;
struct ChatTemplate;
}

namespace genlens::analysis {

struct DecodeOptions {
  std::string instruction;
  int64_t max_length = 512;   // tokens of instruction + query, cut as encode cuts (gen::query_max_length)
  int max_new_tokens = 64;
  bool sample = false;
  float temperature = 1.0f;
  float top_p = 1.0f;
  uint64_t seed = 0;
  std::vector<int64_t> extra_eos_ids;  // on top of the model's (generation_config.json)
  // The model's own answer (needs `chat`); max_new_tokens applies too.
  bool model_answer = true;
  const text::ChatTemplate* chat = nullptr;
  // Streaming: called after each generated token with the text so far of one row (a
  // query, or a point of an interpolation), first for the text decoded from the
  // embedding, then for the model's answer. Throwing stops decoding.
  enum class Stream { FromEmbedding, ModelAnswer };
  std::function<void(size_t row, Stream which, const DecodedText& so_far)> on_token;
};

// Batched over queries; results in query order.
std::vector<DecodeResult> decode_queries(const model::DecoderLM& lm, const gen::Adapter& adapter,
                                         const text::Tokenizer& tok, const std::vector<std::string>& queries,
                                         const DecodeOptions& opt);

// `steps` values of t evenly spaced in [0, 1] (steps >= 2), decoded as one batch.
InterpolationResult interpolate(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                                const std::string& query_a, const std::string& query_b, int64_t steps,
                                const DecodeOptions& opt);

// Token-level forms (the text-level ones above tokenize, check lengths and call these):
// decode from the soft prompts of query id rows; `tok` may be null (no text, no
// tokenizer EOS). Rows are decoded as one batch.
std::vector<DecodedText> decode_query_ids(const model::DecoderLM& lm, const gen::Adapter& adapter,
                                          const text::Tokenizer* tok, const std::vector<std::vector<int32_t>>& rows,
                                          const DecodeOptions& opt);
std::vector<InterpolationStep> interpolate_ids(const model::DecoderLM& lm, const gen::Adapter& adapter,
                                               const text::Tokenizer* tok, const std::vector<int32_t>& a,
                                               const std::vector<int32_t>& b, int64_t steps, const DecodeOptions& opt);

// Decoding from soft prompts S [B, n_c, H] given as they are (any point of the compression
// state space: embedding arithmetic, a saved state), the rows as one batch; `tok` may be null.
std::vector<DecodedText> decode_soft_prompts(const model::DecoderLM& lm, const text::Tokenizer* tok,
                                             const torch::Tensor& S, const DecodeOptions& opt);
// The soft prompts S [B, n_c, H] float32 that decode_queries decodes (instruction + query,
// cut to max_length), the queries as one batch.
torch::Tensor query_soft_prompts(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                                 const std::vector<std::string>& queries, const DecodeOptions& opt);

// The EOS ids decoding stops at: the model config's, the tokenizer's, and `extra`.
std::vector<int64_t> stop_ids(const model::DecoderLM& lm, const text::Tokenizer* tok,
                              const std::vector<int64_t>& extra = {});

}  // namespace genlens::analysis
