// What a training run is: its settings (every flag of `genlens train` that changes the
// result; saved in trainer_state.json and checked on --resume) and its token-level data.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/gen/adapter.h"

namespace genlens::gen {

struct TrainSettings {
  int64_t steps = 5000;
  int64_t batch_size = 32;      // rows per micro-batch, over all ranks together (the global batch)
  int64_t grad_accum = 1;       // micro-batches per optimizer step
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, adam_eps = 1e-8;
  double weight_decay = 0.0;    // HF TrainingArguments' default, which the reference uses
  int64_t warmup_steps = 100;
  double max_grad_norm = 1.0;   // HF default; <= 0 disables clipping
  double recon_weight = 1.0, align_weight = 1.0;
  int64_t n_thought = 10, n_compression = 10;
  int64_t query_max_length = 512;     // text tokens; the special tokens come on top
  int64_t response_max_length = 512;  // response + EOS (the reference generates <= 500 tokens)
  uint64_t seed = 42;
  int64_t save_every = 500;     // also saved at the last step and on cancel
  int64_t keep = 3;             // newest checkpoints kept (<= 0: all)
  double special_init_std = -1; // <= 0: std of the base model's embedding matrix
  int64_t teacher_batch = 16;
  std::string teacher = "mean-pool";  // or "npy:PATH"
  std::string instruction;            // prepended to every training query (default none)

  nlohmann::json to_json() const;
  static TrainSettings from_json(const nlohmann::json& j, const std::string& source);
  void validate() const;
  // Settings that are valid but probably not what was meant, one sentence each (the CLI
  // prints them before training, the studio's form shows them): a warm-up as long as the
  // run (--warmup >= --steps), so the learning rate never reaches --lr.
  std::vector<std::string> warnings() const;
};

// Token-level training data (the text-level builder is core/data/responses.h).
struct TrainData {
  std::vector<std::string> ids;
  std::vector<TokenRow> query;   // instruction + question tokens (truncated at batch time)
  std::vector<TokenRow> target;  // response tokens + EOS, already cut to the max length
  int64_t size() const { return static_cast<int64_t>(query.size()); }
  std::string fingerprint() const;  // hash of every token, to refuse resuming on other data
};

}  // namespace genlens::gen
