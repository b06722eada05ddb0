// Approximate nearest neighbours by inner product over unit vectors: a thin wrapper
// around Debian's header-only hnswlib (HierarchicalNSW), plus the exact reference
// (blocked products) and recall@k, so the approximation is always reported against exact.
// Plain float arrays, no torch.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

namespace genlens::analysis {

class AnnIndex {
 public:
  AnnIndex(int64_t dim, int64_t capacity, int m = 16, int ef_construction = 100, uint64_t seed = 100);
  static std::unique_ptr<AnnIndex> load(const std::filesystem::path& file, int64_t dim);
  ~AnnIndex();
  void add(const float* v, int64_t label);  // v: dim floats (unit length expected)
  // add() for n rows with labels first_label..; uses `threads` worker threads.
  void add_batch(const float* v, int64_t n, int64_t first_label, int threads = 1);
  std::vector<std::pair<int64_t, float>> search(const float* q, int64_t k, int64_t ef = 200) const;  // (label, cosine)
  void save(const std::filesystem::path& file) const;  // atomically
  int64_t size() const;
  int64_t dim() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  explicit AnnIndex(std::unique_ptr<Impl> impl);
};

// Exact top-k by inner product: base [n, dim], queries [nq, dim] (row-major floats).
std::vector<std::vector<std::pair<int64_t, float>>> exact_topk(const float* base, int64_t n, const float* queries,
                                                               int64_t nq, int64_t dim, int64_t k);

// Mean over queries of |approx_k ∩ exact_k| / k.
double recall_at_k(const std::vector<std::vector<std::pair<int64_t, float>>>& approx,
                   const std::vector<std::vector<std::pair<int64_t, float>>>& exact, int64_t k);

}  // namespace genlens::analysis
