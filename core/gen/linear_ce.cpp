#include "core/gen/linear_ce.h"

#include "core/util/error.h"

namespace genlens::gen {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

namespace {

int64_t default_chunk_rows(int64_t vocab) {
  const int64_t budget = int64_t{128} << 20;  // bytes of float32 logits per chunk
  return std::max<int64_t>(1, budget / (4 * std::max<int64_t>(1, vocab)));
}

// One chunk's float32 logits, exactly as the plain path computes them.
Tensor chunk_logits(const Tensor& h, const Tensor& w) {
  return torch::nn::functional::linear(h.to(w.scalar_type()), w).to(torch::kFloat32);
}

struct LinearCrossEntropy : public torch::autograd::Function<LinearCrossEntropy> {
  static Tensor forward(AutogradContext* ctx, const Tensor& h, const Tensor& w, const Tensor& labels, int64_t chunk) {
    torch::NoGradGuard ng;
    const int64_t n = h.size(0);
    Tensor lse = torch::empty({n}, h.options().dtype(torch::kFloat32));
    Tensor total = torch::zeros({}, h.options().dtype(torch::kFloat32));
    for (int64_t i = 0; i < n; i += chunk) {
      const int64_t c = std::min(chunk, n - i);
      Tensor logits = chunk_logits(h.narrow(0, i, c), w);
      Tensor l = torch::logsumexp(logits, 1);
      lse.narrow(0, i, c).copy_(l);
      total += (l - logits.gather(1, labels.narrow(0, i, c).unsqueeze(1)).squeeze(1)).sum();
    }
    ctx->save_for_backward({h, w, labels, lse});
    ctx->saved_data["chunk"] = chunk;
    return total / static_cast<double>(n);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    const Tensor &h = saved[0], &w = saved[1], &labels = saved[2], &lse = saved[3];
    const int64_t chunk = ctx->saved_data["chunk"].toInt(), n = h.size(0);
    const Tensor scale = grad_outputs[0].to(torch::kFloat32) / static_cast<double>(n);
    Tensor dh = torch::empty_like(h);
    torch::NoGradGuard ng;
    for (int64_t i = 0; i < n; i += chunk) {
      const int64_t c = std::min(chunk, n - i);
      // d(mean CE)/d logits = (softmax - onehot) / N, then back through the head.
      Tensor g = (chunk_logits(h.narrow(0, i, c), w) - lse.narrow(0, i, c).unsqueeze(1)).exp_();
      g.scatter_add_(1, labels.narrow(0, i, c).unsqueeze(1), torch::full({c, 1}, -1.0f, g.options()));
      g.mul_(scale);
      dh.narrow(0, i, c).copy_(g.to(w.scalar_type()).matmul(w));
    }
    return {dh, Tensor(), Tensor(), Tensor()};
  }
};

}  // namespace

Tensor linear_cross_entropy(const Tensor& h, const Tensor& weight, const Tensor& labels, int64_t chunk_rows) {
  if (h.dim() != 2 || weight.dim() != 2 || h.size(1) != weight.size(1))
    fail("linear_cross_entropy: hidden [{}] and head [{}] do not fit", fmt::join(h.sizes(), ", "),
         fmt::join(weight.sizes(), ", "));
  if (labels.dim() != 1 || labels.size(0) != h.size(0))
    fail("linear_cross_entropy: {} labels for {} rows", labels.numel(), h.size(0));
  if (weight.requires_grad())  // a trainable head (full-parameter training): the plain path
    return torch::nn::functional::cross_entropy(chunk_logits(h, weight), labels);
  const int64_t chunk = chunk_rows > 0 ? chunk_rows : default_chunk_rows(weight.size(0));
  return LinearCrossEntropy::apply(h, weight, labels, chunk);
}

}  // namespace genlens::gen
