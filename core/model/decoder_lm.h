// DecoderLM: the Llama / Qwen2 / Qwen3 / Mistral decoder, written from the published
// architecture. embeddings -> N x [RMSNorm, RoPE attention (GQA), RMSNorm, SwiGLU MLP]
// -> final RMSNorm -> LM head. The forward pass lives in decoder_lm.cpp, one screen.
//
// Contract used by the method (core/gen) and the analysis code:
//  * inputs are embeddings (so soft prompts can be fed), ids go through embed();
//  * attention_mask [B, T] (1 = real, 0 = pad) supports LEFT padding: position ids are
//    derived from the mask (cumsum - 1), pads are never attended to;
//  * the backbone is frozen: parameters are plain tensors with requires_grad=false, but
//    gradients flow to inputs_embeds (the method trains what goes in).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "core/model/config.h"

namespace genlens::model {

class KVCache;  // core/model/kv_cache.h

struct ForwardOptions {
  bool causal = true;                 // false: bidirectional (LLM2Vec-style teacher)
  bool output_hidden_states = false;  // every layer's output (logit lens)
  KVCache* cache = nullptr;           // incremental decoding; appended to in place
  // Activation recomputation (training memory): keep only each layer's input and run the
  // layer again in backward. Used when a gradient flows to inputs_embeds through frozen
  // weights without a cache; ignored otherwise. Same values and gradients.
  bool recompute = false;
  // Start inside the stack: inputs_embeds is the residual stream entering layer
  // start_layer (hidden_states[start_layer] of a full forward) and only layers
  // start_layer.. run; hidden_states, when asked, then begin with it. Causal tracing
  // patches one cell of that stream and runs the rest (core/analysis/trace.h). No cache.
  int64_t start_layer = 0;
  // Intervention on the residual stream (ablation, core/analysis/ablate.h): called with the
  // stream entering each layer l = start_layer..n_layers-1, and with l = n_layers for the
  // last layer's output before the final norm; returns the stream to go on with (an
  // undefined tensor keeps it). hidden_states, when asked, record what went on. No cache.
  std::function<torch::Tensor(int64_t layer, const torch::Tensor& stream)> edit_stream;
};

struct ForwardOutput {
  torch::Tensor last_hidden;                 // [B, T, H], after the final norm
  std::vector<torch::Tensor> hidden_states;  // when asked: embeddings output, then each
                                             // layer's output (pre final norm): n_layers+1
};

// Changes a weight while it is loaded (LoRA merging, core/model/lora.h): gets the
// tensor's HF name and its stored values (a read-only view of the file), returns the
// values to use (same shape) or an undefined tensor to keep them.
using WeightEdit = std::function<torch::Tensor(const std::string& name, const torch::Tensor& stored)>;

class DecoderLM {
 public:
  // One loader for everything: a real HF directory, an init-model checkpoint, the demo
  // model. dtype: weights are converted on load when the file's dtype differs.
  // matrix_dtype: what the weight matrices (projections, embedding, LM head) are kept in,
  // when not dtype: bf16 with a float32 dtype on the CPU is the low-memory format (half
  // the resident weights; norms, attention and the residual stream stay float32; see
  // model/linear.h for the products). A bf16 checkpoint then maps without a copy.
  static std::shared_ptr<DecoderLM> load(const std::filesystem::path& dir,
                                         torch::Device device = torch::kCPU,
                                         torch::ScalarType dtype = torch::kFloat32,
                                         const WeightEdit& edit = {},
                                         std::optional<torch::ScalarType> matrix_dtype = std::nullopt);
  // The same loader for full-parameter training (core/model/pretrain.h, the demo's tiny
  // LM): every tensor is an owned float32 copy with requires_grad=true. The method and
  // analysis code never call this; what they load through load() stays frozen.
  static std::shared_ptr<DecoderLM> load_trainable(const std::filesystem::path& dir,
                                                   torch::Device device = torch::kCPU);

  const ModelConfig& config() const;
  torch::Device device() const;
  torch::ScalarType dtype() const;         // what the forward computes in
  torch::ScalarType matrix_dtype() const;  // what the weight matrices are kept in

  // [B, T] int64 -> [B, T, H]. check_range=false skips the id range check (and its device
  // sync): only for ids the model itself produced (argmax over its own vocabulary).
  torch::Tensor embed(const torch::Tensor& ids, bool check_range = true) const;
  ForwardOutput forward(const torch::Tensor& inputs_embeds,   // [B, T, H]
                        const torch::Tensor& attention_mask,  // [B, T] (cache: [B, past+T])
                        const ForwardOptions& opt = {}) const;
  torch::Tensor final_norm(const torch::Tensor& hidden) const;  // for logit lens of layers
  torch::Tensor lm_head(const torch::Tensor& hidden) const;     // [.., H] -> [.., V]
  const torch::Tensor& lm_head_weight() const;                  // [V, H] (the embedding when tied)

  // Named parameters as stored in HF checkpoints ("model.layers.0.self_attn.q_proj.weight").
  const std::vector<std::pair<std::string, torch::Tensor>>& named_parameters() const;

  struct Impl;
  static std::shared_ptr<DecoderLM> load_impl(const std::filesystem::path& dir, torch::Device device,
                                              torch::ScalarType dtype, bool trainable,
                                              const WeightEdit& edit, torch::ScalarType matrix_dtype);
  explicit DecoderLM(std::unique_ptr<Impl> impl);
  ~DecoderLM();

 private:
  std::unique_ptr<Impl> impl_;
};

// "f32"/"float32", "bf16"/"bfloat16", "f16"/"float16" -> dtype; anything else throws.
torch::ScalarType parse_dtype(const std::string& name);
// The inverse, as the flags spell it: "f32", "bf16", "f16" (other types: LibTorch's name).
std::string dtype_name(torch::ScalarType t);
// "cpu", "cuda", "cuda:N"; throws when CUDA is asked for but not available.
torch::Device parse_device(const std::string& name);

}  // namespace genlens::model
