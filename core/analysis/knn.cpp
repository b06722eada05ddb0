#include "core/analysis/knn.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

#include "core/util/error.h"

namespace genlens::analysis {
namespace {

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

}  // namespace

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

KnnResult hnsw_knn(const torch::Tensor& queries_in, const torch::Tensor& data_in, int k, Metric metric,
                   bool self_first, int threads, const std::function<void(int64_t)>& progress) {
  auto data = data_in.to(torch::kCPU, torch::kFloat32).contiguous();
  auto queries = queries_in.to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t n = data.size(0), d = data.size(1), nq = queries.size(0);
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  if (metric == Metric::Cosine) space = std::make_unique<hnswlib::InnerProductSpace>(static_cast<size_t>(d));
  else space = std::make_unique<hnswlib::L2Space>(static_cast<size_t>(d));
  // M and ef as hnswlib's own recommendations for recall > 0.95 at these sizes.
  hnswlib::HierarchicalNSW<float> index(space.get(), static_cast<size_t>(n), 16, 200, /*random_seed=*/100);
  const float* base = data.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {  // sequential: the graph is the same on every run
    index.addPoint(base + i * d, static_cast<hnswlib::labeltype>(i));
    if (progress && (i % 1024 == 0)) progress(i / 2);
  }
  index.setEf(static_cast<size_t>(std::max(64, 2 * k)));
  KnnResult r;
  r.n = nq;
  r.k = k;
  r.idx.resize(static_cast<size_t>(nq * k));
  r.dist.resize(static_cast<size_t>(nq * k));
  const float* qbase = queries.data_ptr<float>();
  std::atomic<int64_t> next{0};
  auto worker = [&] {
    for (int64_t i; (i = next.fetch_add(1)) < nq;) {
      auto pq = index.searchKnn(qbase + i * d, static_cast<size_t>(k));
      // The queue pops the farthest first.
      for (int64_t j = static_cast<int64_t>(pq.size()) - 1; j >= 0; --j) {
        auto [dist, label] = pq.top();
        pq.pop();
        float dv = metric == Metric::Cosine ? std::max(0.0f, dist) : std::sqrt(std::max(0.0f, dist));
        r.dist[static_cast<size_t>(i * k + j)] = dv;
        r.idx[static_cast<size_t>(i * k + j)] = static_cast<int64_t>(label);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (progress) progress(n);
  if (self_first) force_self_first(r);
  return r;
}

}  // namespace genlens::analysis
