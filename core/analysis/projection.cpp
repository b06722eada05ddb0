// PCA, trustworthiness and the metric names (UMAP lives in umap.cpp).
#include "core/analysis/projection.h"

#include <algorithm>

#include "core/analysis/points_tensor.h"
#include "core/util/error.h"

namespace genlens::analysis {

Metric parse_metric(const std::string& name) {
  if (name == "cosine") return Metric::Cosine;
  if (name == "euclidean") return Metric::Euclidean;
  fail("--metric: expected cosine or euclidean, found \"{}\"", name);
}

std::string to_string(Metric m) { return m == Metric::Cosine ? "cosine" : "euclidean"; }

PcaResult pca(const Points& pts, const PcaOptions& opt) {
  if (pts.rows < 2) fail("pca: needs at least 2 rows, found {}", pts.rows);
  if (opt.dims < 1 || opt.dims > std::min(pts.rows, pts.cols))
    fail("pca: --dims must be in 1..{} (min of rows and columns), found {}", std::min(pts.rows, pts.cols), opt.dims);
  torch::NoGradGuard ng;
  const torch::Device dev(opt.device);
  // float64 throughout: the covariance of float32 embeddings loses digits otherwise.
  auto x = to_tensor(pts).to(dev, torch::kFloat64);
  auto mean = x.mean(0);
  auto xc = x - mean;
  const int64_t n = x.size(0), d = x.size(1), k = opt.dims;
  // Eigendecomposition of the smaller of the two Gram matrices (the same subspace as
  // the SVD of xc): D x D when D <= N, else N x N and map back through xc^T.
  torch::Tensor comps, eigvals;
  if (d <= n) {
    auto [w, v] = at::linalg_eigh(xc.t().matmul(xc), "L");
    eigvals = w.flip(0).slice(0, 0, k);
    comps = v.flip(1).slice(1, 0, k).t();  // [k, D]
  } else {
    auto [w, u] = at::linalg_eigh(xc.matmul(xc.t()), "L");
    eigvals = w.flip(0).slice(0, 0, k);
    comps = xc.t().matmul(u.flip(1).slice(1, 0, k)).t();  // [k, D]
    comps = comps / comps.norm(2, 1, true).clamp_min(1e-300);
  }
  // Deterministic signs: each component's largest |loading| is positive.
  auto big = comps.abs().argmax(1);
  auto sign = comps.gather(1, big.unsqueeze(1)).sign();
  comps = comps * torch::where(sign == 0, torch::ones_like(sign), sign);
  auto total_var = (xc * xc).sum() / static_cast<double>(n - 1);
  auto ev = eigvals.clamp_min(0) / static_cast<double>(n - 1);
  PcaResult r;
  r.coords = to_points(xc.matmul(comps.t()));
  r.mean = to_points(mean.unsqueeze(0)).data;
  r.components = to_points(comps);
  auto ev_cpu = ev.cpu();
  const double tv = total_var.item<double>();
  for (int64_t i = 0; i < k; ++i) {
    r.explained_variance.push_back(ev_cpu[i].item<double>());
    r.explained_variance_ratio.push_back(tv > 0 ? r.explained_variance.back() / tv : 0.0);
  }
  return r;
}

Points pca_transform(const PcaResult& fit, const Points& x) {
  if (x.cols != fit.components.cols)
    fail("pca transform: the fitted PCA has {} dims, the new rows {}", fit.components.cols, x.cols);
  torch::NoGradGuard ng;
  auto mean = torch::from_blob(const_cast<float*>(fit.mean.data()), {1, x.cols}, torch::kFloat32).to(torch::kFloat64);
  auto comps = to_tensor(fit.components).to(torch::kFloat64);
  return to_points((to_tensor(x).to(torch::kFloat64) - mean).matmul(comps.t()));
}

double trustworthiness(const Points& high, const Points& low, int k) {
  const int64_t n = high.rows;
  if (low.rows != n) fail("trustworthiness: {} input rows but {} layout rows", n, low.rows);
  if (k < 1 || k >= n / 2) fail("trustworthiness: k must be in 1..{} (below N/2), found {}", n / 2 - 1, k);
  torch::NoGradGuard ng;
  auto sqdist_block = [](const torch::Tensor& a, const torch::Tensor& all, const torch::Tensor& all_sq) {
    return ((a * a).sum(1, true) - 2.0 * a.matmul(all.t()) + all_sq.unsqueeze(0)).clamp_min(0);
  };
  auto x = to_tensor(high).to(torch::kFloat64), y = to_tensor(low).to(torch::kFloat64);
  auto x_sq = (x * x).sum(1), y_sq = (y * y).sum(1);
  double penalty = 0;
  const int64_t block = 512;
  for (int64_t s = 0; s < n; s += block) {
    const int64_t e = std::min(n, s + block);
    auto rows = torch::arange(s, e, torch::kLong);
    auto dx = sqdist_block(x.slice(0, s, e), x, x_sq);
    auto dy = sqdist_block(y.slice(0, s, e), y, y_sq);
    dx.index_put_({torch::arange(e - s, torch::kLong), rows}, std::numeric_limits<double>::infinity());
    dy.index_put_({torch::arange(e - s, torch::kLong), rows}, std::numeric_limits<double>::infinity());
    auto nn_low = std::get<1>(dy.topk(k, 1, /*largest=*/false));  // [b, k]
    // Rank of each layout neighbour among the input-space neighbours (1 = nearest).
    auto d_nb = dx.gather(1, nn_low);                                   // [b, k]
    auto rank = (dx.unsqueeze(1) < d_nb.unsqueeze(2)).sum(2) + 1;       // [b, k]
    auto excess = (rank - k).clamp_min(0);
    penalty += excess.sum().item<double>();
  }
  const double nd = static_cast<double>(n), kd = static_cast<double>(k);
  return 1.0 - penalty * (2.0 / (nd * kd * (2.0 * nd - 3.0 * kd - 1.0)));
}

}  // namespace genlens::analysis
