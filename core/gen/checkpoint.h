// Adapter checkpoints (docs/ARCHITECTURE.md §6.3): a directory written atomically with
//   adapter.safetensors   special_tokens.weight [n_special, H], recon_head.weight/.bias,
//                         align_head.weight/.bias (float32)
//   genlens.json          base model identity, token counts, encoding mode, teacher kind
//                         and dimension, dtype, training settings, step
//   optimizer.safetensors + trainer_state.json   (resumable training runs)
// A run directory holds checkpoint-<step>/ directories plus metrics.jsonl.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/gen/adapter.h"
#include "core/gen/adapter_meta.h"
#include "core/model/decoder_lm.h"
#include "core/util/hash.h"

namespace genlens::gen {

struct CheckpointFiles {
  const Adapter* adapter = nullptr;
  const AdapterMeta* meta = nullptr;
  const std::vector<std::pair<std::string, torch::Tensor>>* optimizer = nullptr;  // optional
  const nlohmann::json* trainer_state = nullptr;                                   // optional
};
// Writes the checkpoint directory atomically (temp dir, fsync, rename).
void write_checkpoint(const std::filesystem::path& dir, const CheckpointFiles& files);

struct LoadedAdapter {
  Adapter adapter;
  AdapterMeta meta;
  std::filesystem::path dir;
};

AdapterMeta read_adapter_meta(const std::filesystem::path& dir);
// Loads and checks an adapter against the base model it will run on: format version,
// hidden size, base model identity, tensor names and shapes, finite values.
// `model_dir` (where `lm` was loaded from) only makes the error messages concrete.
LoadedAdapter load_adapter(const std::filesystem::path& dir, const model::DecoderLM& lm,
                           const std::filesystem::path& model_dir = {});
// The same, for a caller that already knows the base model's identity (the trainer).
LoadedAdapter load_adapter(const std::filesystem::path& dir, const BaseModelIdentity& base, torch::Device device);
// Loads without a base model (inspection); still checks the files against each other.
LoadedAdapter load_adapter_unchecked(const std::filesystem::path& dir, torch::Device device = torch::kCPU);

// A checkpoint's trainer_state.json, read to resume a run: a JSON object whose fields
// genlens reads have their types ("settings" an object with a string "teacher", "step" a
// whole number, "data" and "optimizer" objects); a damaged or hand-edited file is an error
// naming the file and the field ("...: settings.teacher: expected a string, found 3").
nlohmann::json read_trainer_state(const std::filesystem::path& path);

// checkpoint-<step> directories of a run that hold a genlens.json, ascending by step.
std::vector<std::pair<int64_t, std::filesystem::path>> list_checkpoints(const std::filesystem::path& run_dir);
// An adapter directory as given, or for a run directory its latest checkpoint.
std::filesystem::path resolve_adapter_dir(const std::filesystem::path& path);
// Removes all but the newest `keep` checkpoints (keep <= 0: keep all).
void prune_checkpoints(const std::filesystem::path& run_dir, int64_t keep);
std::string checkpoint_dir_name(int64_t step);  // "checkpoint-120" (as HF Trainer names them)

std::string dtype_name(torch::ScalarType t);  // "float32", "bfloat16", "float16"
}  // namespace genlens::gen
