// Full-parameter causal-LM training of a DecoderLM loaded with load_trainable(): the
// small, reusable pretraining trainer the demo world uses to grow its tiny chat LM.
// AdamW (optim::AdamW, torch.optim.AdamW semantics) with linear warm-up and decay,
// gradient clipping, seeded shuffling; next-token cross-entropy on the positions a
// sequence marks as targets. Compute runs in the model's dtype; weights stay float32
// masters, so a bf16 compute path only needs autocast-style casts at the matmuls.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "core/model/decoder_lm.h"
#include "core/runtime/job.h"

namespace genlens::model {

struct LmSequence {
  std::vector<int32_t> ids;
  int64_t loss_from = 1;  // predict tokens ids[loss_from..] (1: every token after the first)
};

struct PretrainSettings {
  int64_t steps = 1000;
  int64_t batch_size = 32;
  double lr = 3e-3;
  int64_t warmup_steps = 50;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;  // <= 0: off
  uint64_t seed = 0;
  int64_t log_every = 10;      // metrics events (loss) every N steps
};

struct PretrainResult {
  int64_t steps = 0;
  double first_loss = 0, final_loss = 0;  // mean of the first / last 20 steps
  double seconds = 0;
  int64_t tokens = 0;  // target tokens seen
};

// Trains `lm` (from DecoderLM::load_trainable) in place. Progress: one unit per step in
// the current job stage. Throws runtime::Cancelled when the job is cancelled.
PretrainResult pretrain_lm(runtime::JobContext& ctx, const DecoderLM& lm, const std::vector<LmSequence>& data,
                           const PretrainSettings& settings);

// Writes the weights as model.safetensors (HF names, float32) atomically.
void save_weights(const DecoderLM& lm, const std::filesystem::path& file);

}  // namespace genlens::model
