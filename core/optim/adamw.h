// The optimizer and its schedule, as the reference trains with them (HF Trainer):
// torch.optim.AdamW and get_linear_schedule_with_warmup. tests/unit/test_adamw.cpp holds
// both against LibTorch's own torch::optim::AdamW and the formula. Its own folder, below
// model/: the adapter trainer (gen/trainer.h) and the tiny-model pretraining
// (model/pretrain.h) both step with it.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace genlens::optim {

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

}  // namespace genlens::optim
