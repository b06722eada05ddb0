#include "core/optim/adamw.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/util/error.h"

namespace genlens::optim {

using torch::Tensor;

double linear_schedule(int64_t k, int64_t warmup, int64_t total) {
  if (k < warmup) return static_cast<double>(k) / static_cast<double>(std::max<int64_t>(1, warmup));
  return std::max(0.0, static_cast<double>(total - k) / static_cast<double>(std::max<int64_t>(1, total - warmup)));
}

AdamW::AdamW(std::vector<std::pair<std::string, Tensor>> params, double beta1, double beta2, double eps,
             double weight_decay)
    : params_(std::move(params)), b1_(beta1), b2_(beta2), eps_(eps), wd_(weight_decay) {
  for (auto& [n, p] : params_) {
    m_.push_back(torch::zeros_like(p).detach());
    v_.push_back(torch::zeros_like(p).detach());
  }
}

void AdamW::step(double lr) {
  torch::NoGradGuard ng;
  ++t_;
  const double bc1 = 1.0 - std::pow(b1_, static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(b2_, static_cast<double>(t_));
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor p = params_[i].second;
    Tensor g = p.grad();
    if (!g.defined()) continue;
    p.mul_(1.0 - lr * wd_);  // decoupled weight decay
    m_[i].mul_(b1_).add_(g, 1.0 - b1_);
    v_[i].mul_(b2_).addcmul_(g, g, 1.0 - b2_);
    Tensor denom = (v_[i].sqrt() / std::sqrt(bc2)).add_(eps_);
    p.addcdiv_(m_[i], denom, -lr / bc1);
  }
}

std::vector<std::pair<std::string, Tensor>> AdamW::state_tensors() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back("exp_avg." + params_[i].first, m_[i]);
    out.emplace_back("exp_avg_sq." + params_[i].first, v_[i]);
  }
  return out;
}

void AdamW::load_state(const std::map<std::string, Tensor>& tensors, int64_t steps_taken, const std::string& source) {
  torch::NoGradGuard ng;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (auto* kind : {"exp_avg.", "exp_avg_sq."}) {
      std::string name = kind + params_[i].first;
      auto it = tensors.find(name);
      if (it == tensors.end()) fail("{}: optimizer state \"{}\" is missing", source, name);
      Tensor& dst = (std::string(kind) == "exp_avg.") ? m_[i] : v_[i];
      if (it->second.sizes() != dst.sizes())
        fail("{}: optimizer state \"{}\": expected shape [{}], found [{}]", source, name,
             fmt::join(dst.sizes(), ", "), fmt::join(it->second.sizes(), ", "));
      dst.copy_(it->second.to(dst.device(), dst.scalar_type()));
    }
  }
  t_ = steps_taken;
}

}  // namespace genlens::optim
