// The LLM2Vec-Gen trainer (DESIGN.md §1): only the special tokens and the two heads
// learn; the LLM stays frozen (requires_grad=false, bit-identical after training).
// AdamW + linear warm-up/decay (HF get_linear_schedule_with_warmup), gradient clipping,
// gradient accumulation, seeded shuffling, checkpoints every N steps (keep last K),
// exact resume. Runs inside a runtime::Job (progress, cancel, metrics events) and logs
// every step to OUT/metrics.jsonl.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/gen/adapter.h"
#include "core/gen/checkpoint.h"
#include "core/model/decoder_lm.h"
#include "core/runtime/job.h"
#include "core/teach/teacher.h"

namespace genlens::dist {
class Group;
}

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
};

// Token-level training data (the text-level builder is core/data/responses.h).
struct TrainData {
  std::vector<std::string> ids;
  std::vector<TokenRow> query;   // instruction + question tokens (truncated at batch time)
  std::vector<TokenRow> target;  // response tokens + EOS, already cut to the max length
  int64_t size() const { return static_cast<int64_t>(query.size()); }
  std::string fingerprint() const;  // hash of every token, to refuse resuming on other data
};

// The learning-rate multiplier of HF's linear schedule with warm-up for optimizer step
// k (0-based): k/W while warming up, then (T-k)/(T-W) down to 0.
double linear_schedule(int64_t k, int64_t warmup, int64_t total);

// AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias correction), with
// its state kept as plain tensors so it can be saved to optimizer.safetensors.
class AdamW {
 public:
  AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, double beta1, double beta2, double eps,
        double weight_decay);
  void step(double lr);  // uses each parameter's .grad()
  int64_t steps_taken() const { return t_; }
  std::vector<std::pair<std::string, torch::Tensor>> state_tensors() const;  // exp_avg.* / exp_avg_sq.*
  void load_state(const std::map<std::string, torch::Tensor>& tensors, int64_t steps_taken,
                  const std::string& source);

 private:
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::vector<torch::Tensor> m_, v_;
  double b1_, b2_, eps_, wd_;
  int64_t t_ = 0;
};

struct TrainerSetup {
  std::shared_ptr<const model::DecoderLM> lm;
  std::filesystem::path model_dir;      // for the base-model identity in genlens.json
  TrainData data;
  std::shared_ptr<teach::Teacher> teacher;
  TrainSettings settings;
  std::filesystem::path out_dir;
  bool resume = false;  // continue from the newest checkpoint in out_dir (fresh if none)
  // Stop (with a checkpoint) after this step instead of settings.steps; the schedule
  // still spans settings.steps, so --resume later continues the same run. 0 = off.
  int64_t stop_at_step = 0;
  // Data-parallel training (core/dist): each rank computes its slice of every global
  // micro-batch, the adapter gradients are summed across ranks, every rank takes the same
  // optimizer step; rank 0 alone writes metrics and checkpoints. null: one process.
  dist::Group* group = nullptr;
};

class Trainer {
 public:
  explicit Trainer(TrainerSetup setup);
  // The whole run: resume or init, the step loop, checkpoints, metrics. Throws
  // runtime::Cancelled after saving a checkpoint when the job is cancelled.
  void run(runtime::JobContext& ctx);

  const Adapter& adapter() const { return adapter_; }
  int64_t step() const { return step_; }
  int64_t start_step() const { return start_step_; }  // where this process started
  const std::vector<runtime::MetricRow>& history() const { return history_; }  // this process's steps
  std::filesystem::path last_checkpoint() const { return last_checkpoint_; }

 private:
  runtime::MetricRow train_step(int64_t step, bool* stop_requested);
  void sync_initial_state();
  bool is_root() const;
  void save(int64_t step);        // collective when distributed; rank 0 writes
  void save_files(int64_t step);
  bool try_resume(runtime::JobContext& ctx);
  int64_t row_at(int64_t global_index);
  AdapterMeta make_meta(int64_t step) const;
  nlohmann::json trainer_state(int64_t step) const;

  TrainerSetup s_;
  Adapter adapter_;
  std::unique_ptr<AdamW> opt_;
  BaseModelIdentity base_;
  std::string data_fingerprint_;  // TrainData::fingerprint(), computed once
  int64_t step_ = 0, start_step_ = 0;
  int64_t perm_epoch_ = -1;
  std::vector<int64_t> perm_;
  std::vector<runtime::MetricRow> history_;
  std::filesystem::path last_checkpoint_;
};

}  // namespace genlens::gen
