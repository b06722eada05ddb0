// The decoder's weights as the forward pass reads them (DecoderLM::Impl), and the one
// table that ties each field to its Hugging Face tensor name, its shape (from the
// config) and whether the config has it. The checkpoint layout (parameter_specs,
// checkpoint.h) and the loader (load_weights.cpp) both walk that table, so a name,
// a shape and the field it fills are written down once.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/model/checkpoint.h"
#include "core/model/config.h"
#include "core/model/decoder_lm.h"

namespace genlens::model {

// One decoder layer: the two RMSNorm weights, attention projections (with their optional
// biases and Qwen3's per-head q/k norms) and the SwiGLU MLP. Optional tensors the config
// does not have stay undefined.
struct LayerWeights {
  torch::Tensor ln1, wq, bq, wk, bk, wv, bv, wo, bo, qn, kn, ln2, wg, bg, wu, bu, wd, bd;
};

struct DecoderLM::Impl {
  ModelConfig cfg;
  torch::Device device{torch::kCPU};
  torch::ScalarType dtype = torch::kFloat32;         // compute
  torch::ScalarType matrix_dtype = torch::kFloat32;  // the 2-D weights (== dtype unless low-memory)
  torch::Tensor embed, norm, head, inv_freq;  // head is embed itself when the embeddings are tied
  std::vector<LayerWeights> layers;
  std::vector<std::pair<std::string, torch::Tensor>> named;  // HF name -> tensor, checkpoint order
};

// Every tensor the config implies, in the canonical checkpoint order (embeddings, each
// layer in order, final norm, LM head unless tied): fn(spec, field), where field is the
// member of `weights` that tensor fills, or nullptr when `weights` is null (the layout
// alone). `weights->layers` must already hold num_hidden_layers entries.
void for_each_weight(const ModelConfig& cfg, DecoderLM::Impl* weights,
                     const std::function<void(const ParamSpec& spec, torch::Tensor* field)>& fn);

// RoPE's inverse frequencies as HF computes them (decoder_lm.cpp): the one buffer the
// loader computes instead of reading.
torch::Tensor rope_inv_freq(const ModelConfig& cfg);

}  // namespace genlens::model
