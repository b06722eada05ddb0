#include "core/analysis/ann_index.h"

// The only translation unit that includes hnswlib (its 0.6 headers define non-inline
// globals): AnnIndex for the latent lens and hnsw_knn for UMAP both live here.
#include "core/analysis/knn.h"

#include <hnswlib/hnswlib.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include "core/io/atomic_file.h"
#include "core/util/error.h"

namespace genlens::analysis {

struct AnnIndex::Impl {
  int64_t dim = 0;
  std::unique_ptr<hnswlib::InnerProductSpace> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
  mutable std::mutex search_mu;  // setEf + searchKnn as one step
};

AnnIndex::AnnIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AnnIndex::~AnnIndex() = default;

AnnIndex::AnnIndex(int64_t dim, int64_t capacity, int m, int ef_construction, uint64_t seed)
    : impl_(std::make_unique<Impl>()) {
  if (dim < 1 || capacity < 1) fail("AnnIndex: dim and capacity must be >= 1 (found {} and {})", dim, capacity);
  impl_->dim = dim;
  impl_->space = std::make_unique<hnswlib::InnerProductSpace>(static_cast<size_t>(dim));
  impl_->hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(
      impl_->space.get(), static_cast<size_t>(capacity), static_cast<size_t>(m), static_cast<size_t>(ef_construction),
      static_cast<size_t>(seed));
}

std::unique_ptr<AnnIndex> AnnIndex::load(const std::filesystem::path& file, int64_t dim) {
  auto impl = std::make_unique<Impl>();
  impl->dim = dim;
  impl->space = std::make_unique<hnswlib::InnerProductSpace>(static_cast<size_t>(dim));
  try {
    impl->hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(impl->space.get(), file.string());
  } catch (const std::exception& e) {
    fail("{}: not a readable hnswlib index ({})", file.string(), e.what());
  }
  return std::unique_ptr<AnnIndex>(new AnnIndex(std::move(impl)));
}

void AnnIndex::add(const float* v, int64_t label) { impl_->hnsw->addPoint(v, static_cast<hnswlib::labeltype>(label)); }

void AnnIndex::add_batch(const float* v, int64_t n, int64_t first_label, int threads) {
  // hnswlib's addPoint is safe to call from several threads (per-node locks).
  threads = std::max(1, threads);
  std::atomic<int64_t> next{0};
  std::exception_ptr err;
  std::mutex err_mu;
  auto work = [&] {
    try {
      for (int64_t i; (i = next.fetch_add(1)) < n;) add(v + i * impl_->dim, first_label + i);
    } catch (...) {
      std::lock_guard<std::mutex> lk(err_mu);
      err = std::current_exception();
      next = n;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (err) std::rethrow_exception(err);
}

std::vector<std::pair<int64_t, float>> AnnIndex::search(const float* q, int64_t k, int64_t ef) const {
  std::priority_queue<std::pair<float, hnswlib::labeltype>> pq;
  {
    std::lock_guard<std::mutex> lk(impl_->search_mu);
    impl_->hnsw->setEf(static_cast<size_t>(std::max(ef, k)));
    pq = impl_->hnsw->searchKnn(q, static_cast<size_t>(k));
  }
  std::vector<std::pair<int64_t, float>> out;
  while (!pq.empty()) {  // farthest first; InnerProductSpace distance = 1 - dot
    out.emplace_back(static_cast<int64_t>(pq.top().second), 1.0f - pq.top().first);
    pq.pop();
  }
  std::reverse(out.begin(), out.end());
  return out;
}

void AnnIndex::save(const std::filesystem::path& file) const {
  io::write_file_atomic_with(file, [&](const std::filesystem::path& tmp) { impl_->hnsw->saveIndex(tmp.string()); });
}

int64_t AnnIndex::size() const { return static_cast<int64_t>(impl_->hnsw->cur_element_count); }
int64_t AnnIndex::dim() const { return impl_->dim; }

std::vector<std::vector<std::pair<int64_t, float>>> exact_topk(const float* base, int64_t n, const float* queries,
                                                               int64_t nq, int64_t dim, int64_t k) {
  torch::NoGradGuard ng;
  auto Q = torch::from_blob(const_cast<float*>(queries), {nq, dim}, torch::kFloat32);
  const int64_t kk = std::min(k, n);
  torch::Tensor best_v = torch::full({nq, 0}, 0.0f), best_i = torch::zeros({nq, 0}, torch::kLong);
  constexpr int64_t kBlock = 65536;
  for (int64_t s = 0; s < n; s += kBlock) {
    const int64_t e = std::min(n, s + kBlock);
    auto B = torch::from_blob(const_cast<float*>(base) + s * dim, {e - s, dim}, torch::kFloat32);
    auto sims = torch::matmul(Q, B.t());
    auto top = sims.topk(std::min(kk, e - s), 1);
    auto v = torch::cat({best_v, std::get<0>(top)}, 1);
    auto i = torch::cat({best_i, std::get<1>(top) + s}, 1);
    auto merged = v.topk(std::min<int64_t>(kk, v.size(1)), 1);
    best_v = std::get<0>(merged);
    best_i = i.gather(1, std::get<1>(merged));
  }
  std::vector<std::vector<std::pair<int64_t, float>>> out(static_cast<size_t>(nq));
  auto va = best_v.accessor<float, 2>();
  auto ia = best_i.accessor<int64_t, 2>();
  for (int64_t r = 0; r < nq; ++r)
    for (int64_t j = 0; j < best_v.size(1); ++j) out[static_cast<size_t>(r)].emplace_back(ia[r][j], va[r][j]);
  return out;
}

double recall_at_k(const std::vector<std::vector<std::pair<int64_t, float>>>& approx,
                   const std::vector<std::vector<std::pair<int64_t, float>>>& exact, int64_t k) {
  if (approx.size() != exact.size() || exact.empty() || k < 1) return 0;
  double sum = 0;
  for (size_t q = 0; q < exact.size(); ++q) {
    int64_t hit = 0;
    const size_t ke = std::min<size_t>(static_cast<size_t>(k), exact[q].size());
    const size_t ka = std::min<size_t>(static_cast<size_t>(k), approx[q].size());
    for (size_t i = 0; i < ke; ++i)
      for (size_t j = 0; j < ka; ++j)
        if (approx[q][j].first == exact[q][i].first) {
          ++hit;
          break;
        }
    sum += static_cast<double>(hit) / static_cast<double>(std::max<size_t>(1, ke));
  }
  return sum / static_cast<double>(exact.size());
}

// ---- UMAP's approximate kNN (see knn.h) ----

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
