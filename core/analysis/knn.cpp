#include "core/analysis/knn.h"


#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

#include "core/util/error.h"

namespace genlens::analysis {

// Puts row i itself first at distance 0 (dropping the farthest) if a search missed it or
// rounding put a duplicate first: UMAP's rho/sigma assume the self-neighbour in column 0.
void force_self_first(KnnResult& r) {
  for (int64_t i = 0; i < r.n; ++i) {
    int64_t* idx = r.idx.data() + i * r.k;
    float* dist = r.dist.data() + i * r.k;
    int64_t pos = std::find(idx, idx + r.k, i) - idx;
    if (pos == r.k) pos = r.k - 1;  // not found: the farthest makes room
    for (int64_t j = pos; j > 0; --j) {
      idx[j] = idx[j - 1];
      dist[j] = dist[j - 1];
    }
    idx[0] = i;
    dist[0] = 0.0f;
  }
}


KnnResult exact_knn(const torch::Tensor& queries, const torch::Tensor& data, int k, Metric metric, bool self_first,
                    const std::function<void(int64_t)>& progress) {
  torch::NoGradGuard ng;
  const int64_t n = queries.size(0);
  KnnResult r;
  r.n = n;
  r.k = k;
  r.idx.resize(static_cast<size_t>(n * k));
  r.dist.resize(static_cast<size_t>(n * k));
  auto data_sq = metric == Metric::Euclidean ? (data * data).sum(1) : torch::Tensor();
  // Blocks of rows keep the [block, N] distance matrix near 64 MB.
  const int64_t block = std::max<int64_t>(64, (int64_t{16} << 20) / std::max<int64_t>(1, data.size(0)));
  for (int64_t s = 0; s < n; s += block) {
    const int64_t e = std::min(n, s + block);
    auto q = queries.slice(0, s, e);
    torch::Tensor d;
    if (metric == Metric::Cosine) {
      d = 1.0 - q.matmul(data.t());
    } else {
      d = ((q * q).sum(1, true) - 2.0 * q.matmul(data.t()) + data_sq.unsqueeze(0)).clamp_min(0);
    }
    if (self_first) {  // the row itself first, whatever rounding says
      auto rows = torch::arange(e - s, torch::kLong).to(d.device());
      d.index_put_({rows, rows + s}, -1.0f);
    }
    auto [vals, idx] = d.topk(k, 1, /*largest=*/false);
    vals = vals.clamp_min(0);
    if (metric == Metric::Euclidean) vals = vals.sqrt();
    vals = vals.to(torch::kCPU, torch::kFloat32).contiguous();
    idx = idx.to(torch::kCPU, torch::kLong).contiguous();
    std::copy_n(vals.data_ptr<float>(), (e - s) * k, r.dist.data() + s * k);
    std::copy_n(idx.data_ptr<int64_t>(), (e - s) * k, r.idx.data() + s * k);
    if (progress) progress(e);
  }
  if (self_first) force_self_first(r);
  return r;
}


}  // namespace genlens::analysis
