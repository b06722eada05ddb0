// Fixtures for the analysis tests: a random adapter written as a checkpoint directory
// for a model (so CLI commands can load it), next to tests/gen_fixtures.h.
#pragma once
#include <filesystem>

#include "core/gen/adapter.h"
#include "core/gen/checkpoint.h"
#include "tests/gen_fixtures.h"

namespace genlens::test {

inline std::filesystem::path random_adapter_dir(const model::DecoderLM& lm, const std::filesystem::path& model_dir,
                                                const std::filesystem::path& out, int64_t n_thought = 3,
                                                int64_t n_compression = 4, uint64_t seed = 3) {
  gen::AdapterShape shape;
  shape.n_thought = n_thought;
  shape.n_compression = n_compression;
  shape.hidden = lm.config().hidden_size;
  shape.teacher_dim = lm.config().hidden_size;
  gen::Adapter a(shape, torch::kCPU);
  a.init_random(lm, seed);
  gen::AdapterMeta meta;
  meta.base = gen::BaseModelIdentity::of(lm, model_dir);
  meta.shape = shape;
  meta.teacher_kind = "mean-pool";
  meta.compute_dtype = "float32";
  gen::CheckpointFiles files;
  files.adapter = &a;
  files.meta = &meta;
  gen::write_checkpoint(out, files);
  return out;
}

}  // namespace genlens::test
