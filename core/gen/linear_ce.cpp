#include "core/gen/linear_ce.h"

#include "core/util/error.h"

namespace genlens::gen {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

namespace {

int64_t default_chunk_rows(int64_t vocab) {
  // 64 MB of float32 logits per chunk: large enough for an efficient head matmul, and the
  // one buffer is reused by every chunk (a fresh [c, V] tensor per chunk costs a page
  // fault per 4 KB on every allocation; measured as much time as the matmuls themselves).
  const int64_t budget = int64_t{64} << 20;
  return std::max<int64_t>(1, budget / (4 * std::max<int64_t>(1, vocab)));
}

// One chunk's float32 logits into `out` [c, V], exactly as the plain path computes them
// (the matmul in the head's dtype, then float32).
void chunk_logits(const Tensor& h, const Tensor& w, Tensor& out) {
  if (w.scalar_type() == torch::kFloat32 && h.scalar_type() == torch::kFloat32)
    at::mm_out(out, h, w.t());
  else
    out.copy_(torch::nn::functional::linear(h.to(w.scalar_type()), w));
}

struct LinearCrossEntropy : public torch::autograd::Function<LinearCrossEntropy> {
  // want_grad: h will need a gradient, so make d(loss)/dh in this same pass over the
  // logits (backward then only scales it); otherwise the loss alone. Per chunk: logits
  // into the reused buffer; row max m; x - m, exp, in place; s = row sum; the loss term
  // log(s) + m - x[label]; softmax = exp / s, minus 1 at the label, back through the head.
  static Tensor forward(AutogradContext* ctx, const Tensor& h, const Tensor& w, const Tensor& labels, int64_t chunk,
                        bool want_grad) {
    torch::NoGradGuard ng;
    const int64_t n = h.size(0), V = w.size(0);
    Tensor total = torch::zeros({}, h.options().dtype(torch::kFloat32));
    Tensor dh = want_grad ? torch::empty_like(h) : Tensor();
    Tensor buf = torch::empty({std::min(chunk, n), V}, h.options().dtype(torch::kFloat32));
    const bool direct_dh = want_grad && w.scalar_type() == torch::kFloat32 && h.scalar_type() == torch::kFloat32;
    for (int64_t i = 0; i < n; i += chunk) {
      const int64_t c = std::min(chunk, n - i);
      Tensor x = buf.narrow(0, 0, c);
      chunk_logits(h.narrow(0, i, c), w, x);
      Tensor lab = labels.narrow(0, i, c).unsqueeze(1);
      Tensor target = x.gather(1, lab);
      Tensor m = x.amax(1, /*keepdim=*/true);
      Tensor s = x.sub_(m).exp_().sum(1, /*keepdim=*/true);
      total += (s.log() + m - target).sum();
      if (!want_grad) continue;
      x.div_(s);
      x.scatter_add_(1, lab, torch::full({c, 1}, -1.0f, x.options()));
      if (direct_dh) {
        Tensor out = dh.narrow(0, i, c);
        at::mm_out(out, x, w);
      } else {
        dh.narrow(0, i, c).copy_(x.to(w.scalar_type()).matmul(w));
      }
    }
    if (want_grad) ctx->save_for_backward({dh});
    ctx->saved_data["n"] = n;
    return total / static_cast<double>(n);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    if (saved.empty() || !saved[0].defined())
      fail("linear_cross_entropy: backward through a loss computed without a gradient (h did not require one)");
    const Tensor& dh = saved[0];
    const double n = static_cast<double>(ctx->saved_data["n"].toInt());
    torch::NoGradGuard ng;
    // Scale in float32, then back to h's dtype: one rounding, as the plain path's last step.
    Tensor scale = grad_outputs[0].to(torch::kFloat32) / n;
    Tensor g = dh.scalar_type() == torch::kFloat32 ? dh * scale : (dh.to(torch::kFloat32) * scale).to(dh.scalar_type());
    return {g, Tensor(), Tensor(), Tensor(), Tensor()};
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
    return torch::nn::functional::cross_entropy(
        torch::nn::functional::linear(h.to(weight.scalar_type()), weight).to(torch::kFloat32), labels);
  const int64_t chunk = chunk_rows > 0 ? chunk_rows : default_chunk_rows(weight.size(0));
  const bool want_grad = torch::GradMode::is_enabled() && h.requires_grad();
  return LinearCrossEntropy::apply(h, weight, labels, chunk, want_grad);
}

}  // namespace genlens::gen
