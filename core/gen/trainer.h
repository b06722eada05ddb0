// The LLM2Vec-Gen trainer (docs/ARCHITECTURE.md §2): only the special tokens and the two heads
// learn; the LLM stays frozen (requires_grad=false, bit-identical after training).
// The step loop: seeded shuffling, gradient accumulation and clipping, the optimizer
// (core/optim/adamw.h) on the linear warm-up/decay schedule, checkpoints every N steps
// (keep last K), exact resume. Its settings are train_settings.h. Runs inside a
// runtime::Job (progress, cancel, metrics events) and logs every step to OUT/metrics.jsonl.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/gen/adapter.h"
#include "core/gen/checkpoint.h"
#include "core/gen/train_settings.h"
#include "core/model/decoder_lm.h"
#include "core/optim/adamw.h"
#include "core/runtime/job.h"
#include "core/teach/teacher.h"

namespace genlens::dist {
class Group;
struct Slice;
}

namespace genlens::gen {

enum class Recompute { Auto, On, Off };
Recompute parse_recompute(const std::string& s);  // "auto" | "on" | "off"; anything else throws

// What --recompute resolves to, and why (logged at the start of a run).
struct RecomputeChoice {
  bool on = false;
  std::string why;
};
// Auto: on for CUDA; on the CPU, on when the activations a step keeps for backward
// without recomputation (estimated from the model's shape, the batch and the sequence
// lengths) would take more than half of the memory available now (MemAvailable, or the
// cgroup's limit when lower). `available_bytes` < 0: read it from the machine.
RecomputeChoice choose_recompute(Recompute asked, const model::ModelConfig& cfg, const TrainSettings& s,
                                 const torch::Device& device, int64_t element_bytes, double available_bytes = -1);
// The estimate choose_recompute uses: bytes a step keeps for backward, without (first)
// and with (second) recomputation.
std::pair<double, double> step_activation_bytes(const model::ModelConfig& cfg, const TrainSettings& s,
                                                int64_t element_bytes);

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
  // Activation recomputation for the frozen backbone in both passes (memory for compute;
  // same result): Auto decides by choose_recompute. Not a setting of the run, so a
  // resumed run may change it.
  Recompute recompute = Recompute::Auto;
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
  bool recomputes() const { return recompute_; }       // TrainerSetup::recompute, resolved
  const std::vector<runtime::MetricRow>& history() const { return history_; }  // this process's steps
  std::filesystem::path last_checkpoint() const { return last_checkpoint_; }

 private:
  // One optimizer step: every micro-batch's forward and backward, the gradient sum over
  // ranks, clipping, the AdamW step, then the step's one read of its statistics.
  runtime::MetricRow train_step(int64_t step, bool* stop_requested);
  struct StepStats;   // one step's running statistics (trainer.cpp)
  struct MicroBatch;  // this rank's rows of one global micro-batch (trainer.cpp)
  MicroBatch take_micro_batch(int64_t first_row, const dist::Slice& mine);
  void micro_batch_backward(const MicroBatch& mb, int64_t slice_rows, StepStats& stats);
  static void record_similarity(const torch::Tensor& embedding, const torch::Tensor& teacher, StepStats& stats);
  void clip_gradients(StepStats& stats);
  torch::Tensor step_totals(StepStats& stats, int64_t step, bool* stop_requested);
  runtime::MetricRow metric_row(int64_t step, double lr, const torch::Tensor& totals, double seconds) const;
  void sync_initial_state();
  bool is_root() const;
  void save(int64_t step);        // collective when distributed; rank 0 writes
  void save_files(int64_t step);
  bool try_resume(runtime::JobContext& ctx);
  int64_t row_at(int64_t global_index);
  AdapterMeta make_meta(int64_t step) const;
  nlohmann::json trainer_state(int64_t step) const;

  TrainerSetup s_;
  bool recompute_ = false;  // s_.recompute resolved (choose_recompute)
  std::string recompute_why_;
  Adapter adapter_;
  std::unique_ptr<optim::AdamW> opt_;
  BaseModelIdentity base_;
  std::string data_fingerprint_;  // TrainData::fingerprint(), computed once
  int64_t step_ = 0, start_step_ = 0;
  int64_t perm_epoch_ = -1;
  std::vector<int64_t> perm_;
  std::vector<runtime::MetricRow> history_;
  std::filesystem::path last_checkpoint_;
};

}  // namespace genlens::gen
