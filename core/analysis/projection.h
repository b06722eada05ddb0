// Embedding maps: PCA and UMAP (McInnes, Healy & Melville 2018; umap-learn is the
// reference behaviour). Plain data in and out -- no torch types -- so the studio can
// call and draw these directly. Computation uses LibTorch inside (CPU or CUDA).
//
//   analysis::Points x = analysis::points_from(rows, cols, data);
//   auto map = analysis::umap_fit(x, opts, &ctx);          // ctx: the Job's context (or nullptr)
//   auto q   = analysis::umap_transform(map, new_points);  // others stay where they are
//
// UMAP steps: kNN graph (exact blocked matmul up to UmapOptions::exact_knn_max points,
// hnswlib above), fuzzy simplicial set (per-point rho and sigma by binary search, fuzzy
// union), a/b fitted from min_dist and spread, spectral (or PCA / random) initialisation,
// SGD with negative sampling on umap-learn's epoch schedule. For a given seed and
// thread count the layout is deterministic.
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace genlens::runtime {
class JobContext;
}

namespace genlens::analysis {

// A dense row-major float32 matrix [rows, cols] (the .npy embeddings, a 2-D layout).
struct Points {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;  // rows * cols, row-major
  float at(int64_t r, int64_t c) const { return data[static_cast<size_t>(r * cols + c)]; }
  const float* row(int64_t r) const { return data.data() + r * cols; }
};

enum class Metric { Cosine, Euclidean };
Metric parse_metric(const std::string& name);  // "cosine" | "euclidean"; genlens::Error otherwise
std::string to_string(Metric m);

// ---------------------------------------------------------------- PCA
struct PcaOptions {
  int dims = 2;
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N"
};

struct PcaResult {
  Points coords;                           // [N, dims]: centred data on the components
  std::vector<float> mean;                 // [D]
  Points components;                       // [dims, D], unit rows (signs: largest |loading| positive)
  std::vector<double> explained_variance;  // per component, ddof = 1 (as scikit-learn)
  std::vector<double> explained_variance_ratio;
};

// Centred SVD. Needs N >= 2 and 1 <= dims <= min(N, D).
PcaResult pca(const Points& x, const PcaOptions& opt = {});
// Projects new rows with a fitted PCA (same D).
Points pca_transform(const PcaResult& fit, const Points& x);

// ---------------------------------------------------------------- UMAP
// One intermediate layout, published while the SGD runs (the studio animates these).
struct UmapFrame {
  int epoch = 0;     // epochs finished (0 = the initial layout)
  int n_epochs = 0;  // total epochs of this run
  Points coords;     // [N, dims]
};

struct UmapOptions {
  int n_neighbors = 15;
  float min_dist = 0.1f;
  float spread = 1.0f;
  int dims = 2;
  Metric metric = Metric::Cosine;
  int n_epochs = 0;  // 0 = umap-learn's default: 500 when N <= 10000, else 200
  float learning_rate = 1.0f;
  float repulsion_strength = 1.0f;
  int negative_sample_rate = 5;
  float local_connectivity = 1.0f;
  float set_op_mix_ratio = 1.0f;  // 1 = fuzzy union
  std::string init = "spectral";  // "spectral" | "pca" | "random"
  uint64_t seed = 0;
  int threads = 0;                 // SGD/kNN worker threads; 0 = LibTorch's intra-op count
  int64_t exact_knn_max = 20000;   // N above this -> approximate kNN with hnswlib
  std::string device = "cpu";      // where the exact kNN matmuls run
  // Called on the fitting thread with the layout every `publish_every` epochs (and at
  // epoch 0 and at the end). 0 = never. Copy what you need; don't block long.
  int publish_every = 0;
  std::function<void(const UmapFrame&)> on_frame;
};

// A fitted map: what transform() needs to place new points.
struct UmapModel {
  UmapOptions options;
  Points data;       // the fitted input rows [N, D] (normalised copy for cosine)
  Points embedding;  // [N, dims]
  float a = 0, b = 0;
  bool approximate_knn = false;  // true when hnswlib built the graph
  int n_epochs = 0;              // epochs actually run
};

// Fits UMAP. With `ctx`: stages "knn", "graph", "init", "optimize" (progress in epochs),
// cancel checked between epochs. Needs N > n_neighbors (fewer points: genlens::Error).
UmapModel umap_fit(const Points& x, const UmapOptions& opt, runtime::JobContext* ctx = nullptr);

// Places new rows into a fitted map without moving the fitted points (umap-learn's
// transform: kNN into the fitted data, membership weights, weighted-mean start, a short
// SGD with the fitted points fixed). Returns [M, dims].
Points umap_transform(const UmapModel& model, const Points& x, runtime::JobContext* ctx = nullptr);

// The a, b of 1 / (1 + a d^(2b)) fitted to the min_dist / spread curve (umap-learn's
// find_ab_params, least squares on 300 points in [0, 3 * spread]).
std::pair<float, float> fit_ab(float spread, float min_dist);

// Thread-safe holder for the latest frame: the fitting thread publishes through
// `callback()`, a UI thread polls `latest()` (returns false when nothing newer than
// `seen_version` has arrived).
class LayoutFeed {
 public:
  std::function<void(const UmapFrame&)> callback() {
    return [this](const UmapFrame& f) {
      std::lock_guard<std::mutex> lk(mu_);
      frame_ = f;
      ++version_;
    };
  }
  bool latest(uint64_t& seen_version, UmapFrame& out) const {
    std::lock_guard<std::mutex> lk(mu_);
    if (version_ == seen_version) return false;
    seen_version = version_;
    out = frame_;
    return true;
  }

 private:
  mutable std::mutex mu_;
  UmapFrame frame_;
  uint64_t version_ = 0;
};

// Trustworthiness (Venna & Kaski; scikit-learn's sklearn.manifold.trustworthiness with
// its default k = 5, euclidean in both spaces): how well the layout's neighbourhoods
// come from the input's. Exact, O(N^2) memory in blocks; for checks and benchmarks.
double trustworthiness(const Points& high, const Points& low, int k = 5);

}  // namespace genlens::analysis
