// Encoding texts into embeddings: `generative` (LLM2Vec-Gen, needs an adapter) and the
// input-centric baselines on the same frozen LLM, `mean` (mean of the last hidden
// states over the text's tokens) and `last` (the last token's hidden state). Batched,
// left padded, longest texts first; output rows in input order. Query side as in
// training (DESIGN.md §1): instruction + text, no chat template, max 512 text tokens.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/gen/adapter.h"
#include "core/model/decoder_lm.h"

namespace genlens::text {
class Tokenizer;
}

namespace genlens::gen {

enum class EncodeMode { Generative, Mean, Last };
EncodeMode parse_encode_mode(const std::string& name);  // "generative" | "mean" | "last"
std::string to_string(EncodeMode m);

struct EncodeOptions {
  EncodeMode mode = EncodeMode::Generative;
  int64_t batch_size = 16;
  int64_t max_length = 512;  // text tokens (special tokens come on top)
  std::function<void(int64_t done)> on_progress;  // rows finished so far
  std::function<void()> check_cancel;             // may throw (runtime::Cancelled)
};

// Token-level: rows of ids -> [N, D] float32 on the CPU. `adapter` is needed for
// Generative only (D = teacher dim; D = H for the baselines).
torch::Tensor encode_ids(const model::DecoderLM& lm, const Adapter* adapter, const std::vector<TokenRow>& rows,
                         const EncodeOptions& opt);

// Text-level: tokenizes instruction + text (the tokenizer's post-processor applies, as
// HF's tokenizer(...) does by default, e.g. BOS for Llama) and encodes.
std::vector<TokenRow> tokenize_queries(const text::Tokenizer& tok, const std::vector<std::string>& texts,
                                       const std::string& instruction);
torch::Tensor encode_texts(const model::DecoderLM& lm, const Adapter* adapter, const text::Tokenizer& tok,
                           const std::vector<std::string>& texts, const std::string& instruction,
                           const EncodeOptions& opt);

}  // namespace genlens::gen
