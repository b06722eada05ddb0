#include "core/model/linear.h"

#include <algorithm>
#include <vector>

#include "core/model/bf16_matvec.h"
#include "core/runtime/env_info.h"

namespace genlens::model {

namespace F = torch::nn::functional;
using torch::Tensor;

namespace {

Tensor with_sizes(const Tensor& y, const Tensor& x, int64_t out) {
  auto sizes = x.sizes().vec();
  sizes.back() = out;
  return y.view(sizes);
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  const bool cpu = x.device().is_cpu() && w.device().is_cpu();
  const int64_t in = w.size(1), out = w.size(0), rows = in > 0 ? x.numel() / in : 0;
  if (cpu && x.scalar_type() == torch::kFloat32 && w.scalar_type() == torch::kFloat32 && rows == 1) {
    auto y = torch::mv(w, x.reshape({-1}));
    if (b.defined()) y = y + b;
    return with_sizes(y, x, out);
  }
  if (w.scalar_type() == torch::kBFloat16 && x.scalar_type() == torch::kFloat32) {
    const bool grad = torch::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad());
    // Up to 32 rows: the kernel, 8 rows per pass over the weights (four passes still
    // read less than a float32 copy writes and the BLAS reads again).
    if (cpu && !grad && rows >= 1 && rows <= 4 * kBf16MatvecMaxRows && w.is_contiguous()) {
      auto xc = x.reshape({rows, in}).contiguous();
      auto y = torch::empty({rows, out}, x.options());
      const auto* wp = reinterpret_cast<const uint16_t*>(w.data_ptr());
      const int threads = runtime::matmul_threads();
      for (int64_t r0 = 0; r0 < rows; r0 += kBf16MatvecMaxRows) {
        const int n = static_cast<int>(std::min<int64_t>(kBf16MatvecMaxRows, rows - r0));
        bf16_matvec(xc.data_ptr<float>() + r0 * in, n, wp, out, in, y.data_ptr<float>() + r0 * out, threads);
      }
      if (b.defined()) y.add_(b.to(torch::kFloat32));
      return with_sizes(y, x, out);
    }
    if (cpu && !grad) {
      // More rows: the product in blocks of the weight's rows, each converted into one
      // reused float32 buffer of 16 MB (a fresh float32 copy of a large matrix per call
      // faulted in every page of it: the lens 1.5x slower than in float32).
      thread_local Tensor buf;
      const int64_t block = std::max<int64_t>(1, (int64_t{4} << 20) / std::max<int64_t>(in, 1));
      if (!buf.defined() || buf.numel() < std::min(block, out) * in)
        buf = torch::empty({std::min(block, out) * in}, x.options());
      auto x2 = x.reshape({rows, in});
      std::vector<Tensor> parts;
      for (int64_t o0 = 0; o0 < out; o0 += block) {
        const int64_t n = std::min(block, out - o0);
        auto wf = buf.narrow(0, 0, n * in).view({n, in});
        wf.copy_(w.narrow(0, o0, n));
        parts.push_back(F::linear(x2, wf));
      }
      auto y = parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
      if (b.defined()) y.add_(b.to(torch::kFloat32));
      return with_sizes(y, x, out);
    }
    const auto wf = w.to(torch::kFloat32);  // differentiable in x
    return b.defined() ? F::linear(x, wf, b.to(torch::kFloat32)) : F::linear(x, wf);
  }
  return b.defined() ? F::linear(x, w, b) : F::linear(x, w);
}

}  // namespace genlens::model
