// Attribution of an embedding to the input tokens by integrated gradients (IG) over the
// input token embeddings, for f(x) = cosine(embedding(x), target):
//
//   score_i = (x_i - x'_i) . (1/m) sum_k grad_i f(x' + a_k (x - x')),  a_k = (k + 1/2) / m
//
// x the query's input embeddings [L, H], x' the baseline (every query token replaced by
// one neutral token's embedding, or zeros), m = steps, the midpoint rule (second order in
// 1/m, the same m forwards as the left or right Riemann sum). The scores add up to
// f(x) - f(x') up to the quadrature error, reported as "completeness" with every result.
// The thought/compression tokens of the generative embedding are not attributed: they
// keep their trained rows on the whole path.
//
// Beware the zeros baseline on these models: near a zero-norm input the first RMSNorm
// makes f change steeply, so a uniform sum of 64 steps can be far from complete; the
// neutral-token baseline keeps every point of the path a normal-sized input.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/gen/encoder.h"

namespace genlens::model {
class DecoderLM;
}
namespace genlens::gen {
class Adapter;
}
namespace genlens::text {
class Tokenizer;
}

namespace genlens::analysis {

enum class BaselineKind { Token, Zeros };
const char* to_string(BaselineKind k);  // "token", "zeros"

struct AttributionOptions {
  int64_t steps = 64;       // m, the quadrature points on the path
  int64_t batch_size = 16;  // path points per forward
  BaselineKind baseline = BaselineKind::Token;
  int32_t baseline_id = -1;  // BaselineKind::Token: the neutral token (neutral_token_id)
  std::function<void(int64_t done)> on_progress;  // path points done
  std::function<void()> check_cancel;             // may throw
};

struct AttributionResult {
  std::string mode;            // "generative" or "mean"
  std::vector<int32_t> ids;    // the query's tokens (instruction + text, special tokens of the tokenizer)
  std::vector<double> scores;  // one per id
  double f_input = 0;          // f(x)
  double f_baseline = 0;       // f(x')
  BaselineKind baseline = BaselineKind::Token;
  int32_t baseline_id = -1;
  int64_t steps = 0;

  double score_sum() const;
  // |sum(scores) - (f_input - f_baseline)|, and that over |f_input - f_baseline|.
  double completeness_abs() const;
  double completeness_rel() const;
};

// The neutral token of the baseline: the tokenizer's pad token, else unk, else eos.
int32_t neutral_token_id(const text::Tokenizer& tok);

// The embedding as a differentiable function of the query's input embeddings
// `query_embeds` [B, L, H] (one length, no padding; in the LLM's dtype):
//   generative: LLM(query ++ special tokens) -> C -> S = recon(C) -> mean(align(S)), [B, D];
//   mean: mean of the last hidden states over the L query positions, [B, H].
// Computed in float32 (float64 when the LLM runs in float64) as encode computes it.
torch::Tensor embedding_of_inputs(const model::DecoderLM& lm, const gen::Adapter* adapter, gen::EncodeMode mode,
                                  const torch::Tensor& query_embeds);

// f = cosine(embedding_of_inputs(query_embeds), target), [B]; target [D].
torch::Tensor attribution_objective(const model::DecoderLM& lm, const gen::Adapter* adapter, gen::EncodeMode mode,
                                    const torch::Tensor& query_embeds, const torch::Tensor& target);

// The baseline's input embeddings for `n` query positions, [n, H] in the LLM's dtype.
torch::Tensor baseline_embeddings(const model::DecoderLM& lm, int64_t n, const AttributionOptions& opt);

// IG of f over the query tokens `ids` (mode generative needs `adapter`; mean ignores it).
AttributionResult integrated_gradients(const model::DecoderLM& lm, const gen::Adapter* adapter, gen::EncodeMode mode,
                                       const std::vector<int32_t>& ids, const torch::Tensor& target,
                                       const AttributionOptions& opt);

}  // namespace genlens::analysis
