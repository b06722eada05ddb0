// The trainable part of LLM2Vec-Gen (docs/ARCHITECTURE.md §2), coded against the frozen DecoderLM:
//   special tokens  [n_thought + n_compression, H]  appended after every query's embeddings
//   recon_head      Linear(H -> H)  position-wise on the compression states C -> soft prompts S
//   align_head      Linear(H -> D)  position-wise on S; embedding = mean over positions
// The special rows are their own tensor: the frozen vocabulary matrix is never resized
// or copied. Adapter tensors are float32 master weights; they are cast to the LLM's
// compute dtype (bf16 on CUDA) where they enter it, so gradients come back in float32.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/gen/adapter_meta.h"
#include "core/model/decoder_lm.h"
#include "core/model/padding.h"

namespace genlens::gen {

using TokenRow = std::vector<int32_t>;  // token ids of one text (no padding)


class Adapter {
 public:
  Adapter() = default;
  Adapter(const AdapterShape& shape, torch::Device device);  // zero tensors, requires_grad

  // Random init, deterministic in `seed`:
  //  * special tokens ~ N(0, special_std^2); special_std <= 0 means "the std of the
  //    base model's input embedding matrix", so new rows look like existing tokens;
  //  * both heads as torch.nn.Linear's default (the reference uses plain nn.Linear):
  //    weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  void init_random(const model::DecoderLM& lm, uint64_t seed, double special_std = -1.0);

  const AdapterShape& shape() const { return shape_; }
  std::vector<torch::Tensor> parameters() const;
  // docs/ARCHITECTURE.md §6.3 names: special_tokens.weight, recon_head.weight/.bias, align_head.weight/.bias
  std::vector<std::pair<std::string, torch::Tensor>> named_parameters() const;
  // Copies values in (shapes checked; `source` names the file in errors).
  void assign(const std::string& name, const torch::Tensor& value, const std::string& source);
  int64_t num_parameters() const;
  torch::Device device() const { return special_tokens.device(); }

  torch::Tensor special_tokens;  // [n_special, H]
  torch::Tensor recon_w, recon_b;  // [H, H], [H]
  torch::Tensor align_w, align_b;  // [D, H], [D]

 private:
  AdapterShape shape_;
};

using model::left_pad;
using model::PaddedBatch;

struct EncodeOutput {
  torch::Tensor compression;  // C [B, n_c, H] float32 (final-normed hidden states)
  torch::Tensor soft_prompts; // S [B, n_c, H] float32
  torch::Tensor embedding;    // [B, D] float32
};

// The encoder's input: embed(query) ++ special tokens, with its mask (the analysis code
// runs it with hidden states; encode_queries below runs it plainly).
struct EncoderInput {
  torch::Tensor embeds;  // [B, L + n_special, H] in the LLM's dtype
  torch::Tensor mask;    // [B, L + n_special]
};
EncoderInput encoder_input(const model::DecoderLM& lm, const Adapter& adapter, const PaddedBatch& query);

// Soft prompts S = recon(C), position-wise; C [B, n_c, H] float32 -> [B, n_c, H] float32.
torch::Tensor soft_prompts_of(const Adapter& adapter, const torch::Tensor& compression);
// The embedding of soft prompts: mean over positions of align(S); S [B, n_c, H] -> [B, D].
torch::Tensor embedding_of(const Adapter& adapter, const torch::Tensor& soft_prompts);

// Encoder pass: LLM(query ++ special tokens), last n_compression positions -> C, S, embedding.
// recompute: per-layer activation recomputation in the backward (ForwardOptions::recompute).
// hidden_states (optional): receives every layer's residual stream ([B, T, H] each, L+1 of
// them, the last before the final norm) from the same forward.
EncodeOutput encode_queries(const model::DecoderLM& lm, const Adapter& adapter, const PaddedBatch& query,
                            bool recompute = false, std::vector<torch::Tensor>* hidden_states = nullptr);

// Reconstruction loss: decoder input [pads][S][embed(target)] (left padded before S);
// cross-entropy of the frozen LLM's predictions on the target tokens only, mean over
// all target tokens of the batch (as HF's CausalLM loss). `targets` are response
// tokens (+ EOS, already appended by the caller). Returns a scalar float32 tensor.
torch::Tensor recon_loss(const model::DecoderLM& lm, const torch::Tensor& soft_prompts,
                         const std::vector<TokenRow>& targets, int64_t* n_target_tokens = nullptr,
                         bool recompute = false);

// Alignment loss: MSE(embedding, teacher), mean reduction.
torch::Tensor align_loss(const torch::Tensor& embedding, const torch::Tensor& teacher);

// Mean of hidden states over real tokens: hidden [B, T, H], mask [B, T] -> [B, H] float32.
torch::Tensor masked_mean(const torch::Tensor& hidden, const torch::Tensor& mask);

// Std of the base model's input embedding matrix (special-token init scale).
double embedding_std(const model::DecoderLM& lm);

}  // namespace genlens::gen
