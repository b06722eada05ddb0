// Internal (core only): k-nearest-neighbour search for UMAP. Exact by blocked matrix
// products (CPU or CUDA), approximate with hnswlib (sequential build, so the graph is
// the same for a given input; parallel queries).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "core/analysis/projection.h"

namespace genlens::analysis {

struct KnnResult {
  int64_t n = 0, k = 0;
  std::vector<int64_t> idx;  // [n, k], nearest first
  std::vector<float> dist;   // [n, k]: 1 - cos (cosine) or L2 distance (euclidean)
};

// `data` and `queries` as float32 [*, D]; for cosine they must be L2-normalised already.
// `self_first`: queries == data and each row's own index must come first at distance 0.
KnnResult exact_knn(const torch::Tensor& queries, const torch::Tensor& data, int k, Metric metric, bool self_first,
                    const std::function<void(int64_t done)>& progress = {});
// After a self-search: puts each row's own index first at distance 0 (ties may hide it).
void force_self_first(KnnResult& r);
// Defined in ann_index.cpp: hnswlib 0.6 defines non-inline globals, so exactly one
// translation unit of genlens_core may include it.
KnnResult hnsw_knn(const torch::Tensor& queries, const torch::Tensor& data, int k, Metric metric, bool self_first,
                   int threads, const std::function<void(int64_t done)>& progress = {});

}  // namespace genlens::analysis
