// The HF checkpoint layout of a decoder (tensor names and shapes implied by a config),
// locating the weight files of a model directory, and writing a random-initialised
// checkpoint (`genlens init-model`).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/io/safetensors.h"
#include "core/model/config.h"

namespace genlens::model {

struct ParamSpec {
  enum Kind { kWeight, kBias, kNorm };
  std::string name;  // "model.layers.0.self_attn.q_proj.weight"
  std::vector<int64_t> shape;
  Kind kind = kWeight;
};

// Every tensor the config implies, in a fixed canonical order (embeddings, layers in
// order, final norm, LM head unless tied); the names and shapes come from the table in
// decoder_weights.cpp, which the loader reads too.
std::vector<ParamSpec> parameter_specs(const ModelConfig& cfg);

// The weight files of a model directory: model.safetensors, or the shards listed in
// model.safetensors.index.json. Maps each tensor name to the file that holds it.
struct WeightFiles {
  std::vector<std::shared_ptr<io::SafetensorsFile>> files;
  std::map<std::string, std::shared_ptr<io::SafetensorsFile>> by_name;
  uint64_t total_bytes = 0;  // sum of the file sizes
};
WeightFiles open_weight_files(const std::filesystem::path& dir);

struct InitOptions {
  uint64_t seed = 0;
  torch::ScalarType dtype = torch::kFloat32;
  int shards = 1;
  double std = 0.02;     // HF's initializer_range
  bool perturb = false;  // norms 1+N(0,0.1), biases N(0,std): so tests see every tensor
};

// Writes config.json, generation_config.json and the weights (model.safetensors, or
// model-0000i-of-0000N.safetensors + model.safetensors.index.json) atomically into
// `out`. Weights ~ N(0, std), norm weights 1, biases 0 (unless perturb). The values
// depend only on (config, seed, std, perturb), not on the shard count.
void write_random_checkpoint(const ModelConfig& cfg, const std::filesystem::path& out,
                             const InitOptions& opt);

}  // namespace genlens::model
