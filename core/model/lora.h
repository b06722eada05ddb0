// PEFT LoRA adapters on the decoder's linear layers: adapter_config.json (peft_type
// "LORA", r, lora_alpha, target_modules, use_rslora) and adapter_model.safetensors
// (`base_model.model.[model.]layers.N.<self_attn|mlp>.<proj>.lora_A.weight` [r, in] and
// `.lora_B.weight` [out, r]). The update of a module is  scale * B @ A  with
// scale = lora_alpha / r (or lora_alpha / sqrt(r) with rslora), exactly PEFT's.
// Used merged (the base weights edited while they load, DecoderLM::load's WeightEdit)
// or kept apart for inspection (`genlens lora inspect`).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/model/config.h"
#include "core/model/decoder_lm.h"

namespace genlens::model {

struct LoraModule {
  std::string weight_name;  // the base weight it changes: "model.layers.0.self_attn.q_proj.weight"
  torch::Tensor A, B;       // [r, in], [out, r] float32 CPU
  double scale = 1.0;
  torch::Tensor delta() const;  // scale * B @ A, [out, in] float32 (computed in float64)
};

struct LoraAdapter {
  std::filesystem::path dir;
  int64_t r = 0;
  double alpha = 0;
  bool rslora = false;
  std::vector<std::string> target_modules;
  std::vector<LoraModule> modules;  // in layer order
  double scale() const;
};

// Reads and checks a PEFT LoRA directory against a base model config: peft_type, the
// target modules genlens knows (q/k/v/o_proj, gate/up/down_proj), tensor names and shapes.
// Errors name the file and field.
LoraAdapter load_lora(const std::filesystem::path& dir, const ModelConfig& base);

// A WeightEdit that adds the updates of `adapters`, in order, to the weights they target.
WeightEdit merge_edit(std::vector<LoraAdapter> adapters);

// Base model + LoRAs merged in order (LLM2Vec: the MNTP LoRA, then the SimCSE LoRA).
std::shared_ptr<DecoderLM> load_with_lora(const std::filesystem::path& base_dir,
                                          const std::vector<std::filesystem::path>& lora_dirs,
                                          torch::Device device = torch::kCPU,
                                          torch::ScalarType dtype = torch::kFloat32);

}  // namespace genlens::model
