#include "core/model/pretrain.h"

#include <chrono>
#include <numeric>
#include <random>

#include "core/io/safetensors.h"
#include "core/optim/adamw.h"
#include "core/util/error.h"

namespace genlens::model {

using torch::Tensor;

PretrainResult pretrain_lm(runtime::JobContext& ctx, const DecoderLM& lm, const std::vector<LmSequence>& data,
                           const PretrainSettings& s) {
  if (data.empty()) fail("pretrain: no training sequences");
  if (s.steps <= 0 || s.batch_size <= 0) fail("pretrain: steps and batch_size must be positive");
  std::vector<std::pair<std::string, Tensor>> params;
  for (auto& [name, t] : lm.named_parameters()) {
    if (!t.requires_grad())
      fail("pretrain: parameter '{}' is frozen; load the model with DecoderLM::load_trainable", name);
    params.emplace_back(name, t);
  }
  optim::AdamW opt(params, 0.9, 0.95, 1e-8, s.weight_decay);
  std::mt19937_64 rng(s.seed);
  std::vector<size_t> order(data.size());
  std::iota(order.begin(), order.end(), 0);
  size_t cursor = order.size();
  auto next_row = [&]() {
    if (cursor >= order.size()) {
      std::shuffle(order.begin(), order.end(), rng);
      cursor = 0;
    }
    return order[cursor++];
  };
  const auto dev = lm.device();
  PretrainResult res;
  std::vector<double> losses;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < s.steps; ++step) {
    ctx.check_cancel();
    // Right-padded batch: [B, T] ids, mask, and target ids (-100 where no loss).
    std::vector<size_t> rows;
    int64_t T = 0;
    for (int64_t b = 0; b < s.batch_size; ++b) {
      rows.push_back(next_row());
      T = std::max<int64_t>(T, static_cast<int64_t>(data[rows.back()].ids.size()));
    }
    const int64_t B = static_cast<int64_t>(rows.size());
    auto ids = torch::zeros({B, T}, torch::kLong);
    auto mask = torch::zeros({B, T}, torch::kLong);
    auto labels = torch::full({B, T}, -100, torch::kLong);
    auto ia = ids.accessor<int64_t, 2>();
    auto ma = mask.accessor<int64_t, 2>();
    auto la = labels.accessor<int64_t, 2>();
    for (int64_t b = 0; b < B; ++b) {
      const auto& r = data[rows[b]];
      const int64_t n = static_cast<int64_t>(r.ids.size());
      for (int64_t t = 0; t < n; ++t) {
        ia[b][t] = r.ids[t];
        ma[b][t] = 1;
        // labels[t] is the token predicted at position t (the next one).
        if (t + 1 < n && t + 1 >= r.loss_from) la[b][t] = r.ids[t + 1];
      }
    }
    auto out = lm.forward(lm.embed(ids.to(dev)), mask.to(dev));
    // The LM head only where there is a loss (the answer tokens): the same mean as
    // cross_entropy with ignore_index over every position, without the vocabulary-sized
    // logits of the prompt and padding positions.
    auto lab = labels.to(dev).view({B * T});
    auto at = (lab != -100).nonzero().squeeze(1);
    auto logits = lm.lm_head(out.last_hidden.reshape({B * T, -1}).index_select(0, at)).to(torch::kFloat32);
    auto loss = torch::nn::functional::cross_entropy(logits, lab.index_select(0, at));
    for (auto& [n, p] : params)
      if (p.grad().defined()) p.mutable_grad().zero_();
    loss.backward();
    if (s.max_grad_norm > 0) {
      std::vector<Tensor> ps;
      for (auto& [n, p] : params) ps.push_back(p);
      torch::nn::utils::clip_grad_norm_(ps, s.max_grad_norm);
    }
    opt.step(s.lr * optim::linear_schedule(step, s.warmup_steps, s.steps));
    const double l = loss.item<double>();
    losses.push_back(l);
    res.tokens += at.size(0);
    if (s.log_every > 0 && (step % s.log_every == 0 || step + 1 == s.steps)) ctx.metrics(step, {{"loss", l}});
    ctx.advance();
  }
  auto mean_of = [&](size_t from, size_t to) {
    double acc = 0;
    for (size_t i = from; i < to; ++i) acc += losses[i];
    return to > from ? acc / static_cast<double>(to - from) : 0.0;
  };
  const size_t k = std::min<size_t>(20, losses.size());
  res.steps = s.steps;
  res.first_loss = mean_of(0, k);
  res.final_loss = mean_of(losses.size() - k, losses.size());
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

void save_weights(const DecoderLM& lm, const std::filesystem::path& file) {
  io::NamedTensors tensors;
  for (auto& [name, t] : lm.named_parameters()) tensors.emplace_back(name, t.detach().to(torch::kCPU, torch::kFloat32).contiguous());
  io::save_safetensors(file, tensors, {{"format", "pt"}});
}

}  // namespace genlens::model
