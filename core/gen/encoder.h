// Encoding texts into embeddings: `generative` (LLM2Vec-Gen, needs an adapter) and the
// input-centric baselines on the same frozen LLM, `mean` (mean of the last hidden
// states over the text's tokens) and `last` (the last token's hidden state). Batched
// longest first, each batch texts of one length (no padding, so an embedding does not
// depend on the lengths of the texts beside it); output rows in input order. Query side as in
// training (docs/ARCHITECTURE.md §2): instruction + text, no chat template, cut to max_length tokens
// (the one rule of core/gen/query_length.h: the adapter's training query length by default).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/gen/adapter.h"
#include "core/gen/query_length.h"
#include "core/model/decoder_lm.h"

namespace genlens::text {
class Tokenizer;
struct ChatTemplate;
}

namespace genlens::gen {

// Hyde (the generate-then-encode baseline the method avoids): the LLM's own answer to
// instruction + text (chat template, greedy, hyde_max_new_tokens), mean-pooled by the
// frozen LLM. Texts only (encode_texts); encode_ids refuses it.
enum class EncodeMode { Generative, Mean, Last, Hyde };
EncodeMode parse_encode_mode(const std::string& name);  // "generative" | "mean" | "last" | "hyde"
std::string to_string(EncodeMode m);

struct EncodeOptions {
  EncodeMode mode = EncodeMode::Generative;
  int64_t batch_size = 16;
  // Tokens of instruction + text, the tokenizer's special tokens included (as training
  // cuts them); callers pick it with gen::query_max_length (query_length.h).
  int64_t max_length = kDefaultQueryMaxLength;
  QueryCuts* cuts = nullptr;  // when set: every row encoded is counted (what max_length cut)
  std::function<void(int64_t done)> on_progress;  // rows finished so far
  std::function<void()> check_cancel;             // may throw (runtime::Cancelled)
  // Generative only: each batch's thought and compression states from the same forward,
  // [n, L+1, n_special, H] float32 on the CPU (residual stream; layer L before the final
  // norm), with the batch's input row indices.
  std::function<void(const std::vector<int64_t>& rows, const torch::Tensor& states)> on_special_states;
  // Hyde only: the chat template (null: the one in lm.config().source_dir) and answer length.
  const text::ChatTemplate* hyde_chat = nullptr;
  int hyde_max_new_tokens = 128;
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

// Hyde's first half: the LLM's greedy answer to each instruction + text (chat template).
std::vector<std::string> hyde_answers(const model::DecoderLM& lm, const text::Tokenizer& tok,
                                      const std::vector<std::string>& texts, const std::string& instruction,
                                      const EncodeOptions& opt);

}  // namespace genlens::gen
