#include "core/model/decoder_weights.h"

#include <array>

namespace genlens::model {

namespace {

// A size the config decides.
enum class Dim {
  kNone,          // the shape has fewer axes
  kVocab,         // vocab_size
  kHidden,        // hidden_size
  kIntermediate,  // intermediate_size
  kQuery,         // num_attention_heads * head_dim
  kKeyValue,      // num_key_value_heads * head_dim
  kHeadDim,       // head_dim
};

// Which config flag a tensor depends on.
enum class When { kAlways, kAttentionBias, kOProjBias, kQkNorm, kMlpBias, kUntiedHead };

// One tensor: its HF name (inside a layer: after "model.layers.N."), shape, how
// init-model fills it, when the config has it, and the field the loader fills.
template <class Owner>
struct TensorSlot {
  const char* name;
  std::array<Dim, 2> shape;
  ParamSpec::Kind kind;
  When when;
  torch::Tensor Owner::*field;
};

using Model = DecoderLM::Impl;
using Layer = LayerWeights;
constexpr auto kW = ParamSpec::kWeight, kB = ParamSpec::kBias, kN = ParamSpec::kNorm;

// Checkpoint order: these, every layer's kLayerTensors, then kTensorsAfterLayers.
constexpr TensorSlot<Model> kTensorsBeforeLayers[] = {
    {"model.embed_tokens.weight", {Dim::kVocab, Dim::kHidden}, kW, When::kAlways, &Model::embed},
};

constexpr TensorSlot<Layer> kLayerTensors[] = {
    {"input_layernorm.weight", {Dim::kHidden}, kN, When::kAlways, &Layer::ln1},
    {"self_attn.q_proj.weight", {Dim::kQuery, Dim::kHidden}, kW, When::kAlways, &Layer::wq},
    {"self_attn.q_proj.bias", {Dim::kQuery}, kB, When::kAttentionBias, &Layer::bq},
    {"self_attn.k_proj.weight", {Dim::kKeyValue, Dim::kHidden}, kW, When::kAlways, &Layer::wk},
    {"self_attn.k_proj.bias", {Dim::kKeyValue}, kB, When::kAttentionBias, &Layer::bk},
    {"self_attn.v_proj.weight", {Dim::kKeyValue, Dim::kHidden}, kW, When::kAlways, &Layer::wv},
    {"self_attn.v_proj.bias", {Dim::kKeyValue}, kB, When::kAttentionBias, &Layer::bv},
    {"self_attn.o_proj.weight", {Dim::kHidden, Dim::kQuery}, kW, When::kAlways, &Layer::wo},
    {"self_attn.o_proj.bias", {Dim::kHidden}, kB, When::kOProjBias, &Layer::bo},
    {"self_attn.q_norm.weight", {Dim::kHeadDim}, kN, When::kQkNorm, &Layer::qn},
    {"self_attn.k_norm.weight", {Dim::kHeadDim}, kN, When::kQkNorm, &Layer::kn},
    {"post_attention_layernorm.weight", {Dim::kHidden}, kN, When::kAlways, &Layer::ln2},
    {"mlp.gate_proj.weight", {Dim::kIntermediate, Dim::kHidden}, kW, When::kAlways, &Layer::wg},
    {"mlp.gate_proj.bias", {Dim::kIntermediate}, kB, When::kMlpBias, &Layer::bg},
    {"mlp.up_proj.weight", {Dim::kIntermediate, Dim::kHidden}, kW, When::kAlways, &Layer::wu},
    {"mlp.up_proj.bias", {Dim::kIntermediate}, kB, When::kMlpBias, &Layer::bu},
    {"mlp.down_proj.weight", {Dim::kHidden, Dim::kIntermediate}, kW, When::kAlways, &Layer::wd},
    {"mlp.down_proj.bias", {Dim::kHidden}, kB, When::kMlpBias, &Layer::bd},
};

constexpr TensorSlot<Model> kTensorsAfterLayers[] = {
    {"model.norm.weight", {Dim::kHidden}, kN, When::kAlways, &Model::norm},
    {"lm_head.weight", {Dim::kVocab, Dim::kHidden}, kW, When::kUntiedHead, &Model::head},
};

int64_t size_of(Dim d, const ModelConfig& c) {
  switch (d) {
    case Dim::kVocab: return c.vocab_size;
    case Dim::kHidden: return c.hidden_size;
    case Dim::kIntermediate: return c.intermediate_size;
    case Dim::kQuery: return c.num_attention_heads * c.head_dim;
    case Dim::kKeyValue: return c.num_key_value_heads * c.head_dim;
    case Dim::kHeadDim: return c.head_dim;
    case Dim::kNone: break;
  }
  return 0;
}

bool has(When w, const ModelConfig& c) {
  switch (w) {
    case When::kAlways: return true;
    case When::kAttentionBias: return c.attention_bias;
    case When::kOProjBias: return c.o_proj_bias;
    case When::kQkNorm: return c.qk_norm;
    case When::kMlpBias: return c.mlp_bias;
    case When::kUntiedHead: return !c.tie_word_embeddings;
  }
  return false;
}

template <class Owner>
void visit(const TensorSlot<Owner>& slot, const std::string& name, Owner* owner, const ModelConfig& c,
           const std::function<void(const ParamSpec&, torch::Tensor*)>& fn) {
  if (!has(slot.when, c)) return;
  ParamSpec spec{name, {}, slot.kind};
  for (Dim d : slot.shape)
    if (d != Dim::kNone) spec.shape.push_back(size_of(d, c));
  fn(spec, owner ? &(owner->*slot.field) : nullptr);
}

}  // namespace

void for_each_weight(const ModelConfig& c, DecoderLM::Impl* weights,
                     const std::function<void(const ParamSpec& spec, torch::Tensor* field)>& fn) {
  for (auto& slot : kTensorsBeforeLayers) visit(slot, slot.name, weights, c, fn);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string prefix = "model.layers." + std::to_string(l) + ".";
    LayerWeights* layer = weights ? &weights->layers.at(static_cast<size_t>(l)) : nullptr;
    for (auto& slot : kLayerTensors) visit(slot, prefix + slot.name, layer, c, fn);
  }
  for (auto& slot : kTensorsAfterLayers) visit(slot, slot.name, weights, c, fn);
}

}  // namespace genlens::model
