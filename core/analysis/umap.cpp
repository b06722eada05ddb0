// UMAP (McInnes, Healy & Melville 2018), following umap-learn's behaviour step by step:
// kNN -> smooth_knn_dist (rho, sigma) -> membership strengths -> fuzzy union -> a/b fit
// -> spectral init -> SGD with negative sampling on the epochs-per-sample schedule.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/analysis/knn.h"
#include "core/analysis/points_tensor.h"
#include "core/analysis/projection.h"
#include "core/runtime/job.h"
#include "core/util/error.h"

namespace genlens::analysis {
namespace {

constexpr double kSmoothTol = 1e-5;      // umap-learn SMOOTH_K_TOLERANCE
constexpr double kMinKDistScale = 1e-3;  // umap-learn MIN_K_DIST_SCALE

// A weighted directed edge list (COO), sorted by (head, tail).
struct Edges {
  std::vector<int64_t> head, tail;
  std::vector<double> weight;
};

// Per-row rho (distance to the local_connectivity-th nearest non-self neighbour) and
// sigma (so that the row's memberships sum to log2(k)), by binary search.
void smooth_knn_dist(const KnnResult& knn, double local_connectivity, std::vector<double>& rho,
                     std::vector<double>& sigma) {
  const int64_t n = knn.n, k = knn.k;
  const double target = std::log2(static_cast<double>(k));
  double mean_all = 0;
  for (float d : knn.dist) mean_all += d;
  mean_all /= static_cast<double>(knn.dist.size());
  rho.assign(static_cast<size_t>(n), 0.0);
  sigma.assign(static_cast<size_t>(n), 1.0);
  for (int64_t i = 0; i < n; ++i) {
    const float* d = knn.dist.data() + i * k;
    std::vector<double> nonzero;
    for (int64_t j = 0; j < k; ++j)
      if (d[j] > 0) nonzero.push_back(d[j]);
    double r = 0;
    if (!nonzero.empty() && static_cast<double>(nonzero.size()) >= local_connectivity) {
      const int64_t index = static_cast<int64_t>(std::floor(local_connectivity));
      const double interp = local_connectivity - static_cast<double>(index);
      if (index > 0) {
        r = nonzero[static_cast<size_t>(index - 1)];
        if (interp > kSmoothTol && static_cast<size_t>(index) < nonzero.size())
          r += interp * (nonzero[static_cast<size_t>(index)] - nonzero[static_cast<size_t>(index - 1)]);
      } else {
        r = interp * nonzero[0];
      }
    } else if (!nonzero.empty()) {
      r = *std::max_element(nonzero.begin(), nonzero.end());
    }
    double lo = 0, hi = std::numeric_limits<double>::infinity(), mid = 1.0;
    for (int it = 0; it < 64; ++it) {
      double psum = 0;
      for (int64_t j = 1; j < k; ++j) {
        const double dd = d[j] - r;
        psum += dd > 0 ? std::exp(-dd / mid) : 1.0;
      }
      if (std::abs(psum - target) < kSmoothTol) break;
      if (psum > target) {
        hi = mid;
        mid = (lo + hi) / 2.0;
      } else {
        lo = mid;
        mid = std::isinf(hi) ? mid * 2.0 : (lo + hi) / 2.0;
      }
    }
    double mean_i = 0;
    for (int64_t j = 0; j < k; ++j) mean_i += d[j];
    mean_i /= static_cast<double>(k);
    const double floor = kMinKDistScale * (r > 0 ? mean_i : mean_all);
    rho[static_cast<size_t>(i)] = r;
    sigma[static_cast<size_t>(i)] = std::max(mid, floor);
  }
}

// exp(-(d - rho) / sigma) per kNN edge; the self edge gets 0 unless `bipartite`.
Edges membership(const KnnResult& knn, const std::vector<double>& rho, const std::vector<double>& sigma,
                 bool bipartite) {
  Edges e;
  for (int64_t i = 0; i < knn.n; ++i)
    for (int64_t j = 0; j < knn.k; ++j) {
      const int64_t nb = knn.idx[static_cast<size_t>(i * knn.k + j)];
      const double d = knn.dist[static_cast<size_t>(i * knn.k + j)];
      double w;
      if (!bipartite && nb == i) w = 0;
      else if (d - rho[static_cast<size_t>(i)] <= 0 || sigma[static_cast<size_t>(i)] == 0) w = 1;
      else w = std::exp(-(d - rho[static_cast<size_t>(i)]) / sigma[static_cast<size_t>(i)]);
      if (w <= 0) continue;
      e.head.push_back(i);
      e.tail.push_back(nb);
      e.weight.push_back(w);
    }
  return e;
}

// Fuzzy set union A + A^T - A o A^T (set_op_mix_ratio blends with the intersection).
Edges fuzzy_union(const Edges& a, double mix) {
  struct Cell {
    int64_t i, j;
    double p, q;  // A_ij, A_ji
  };
  std::vector<Cell> cells;
  cells.reserve(a.head.size() * 2);
  for (size_t t = 0; t < a.head.size(); ++t) {
    cells.push_back({a.head[t], a.tail[t], a.weight[t], 0});
    cells.push_back({a.tail[t], a.head[t], 0, a.weight[t]});
  }
  std::sort(cells.begin(), cells.end(), [](const Cell& x, const Cell& y) { return x.i != y.i ? x.i < y.i : x.j < y.j; });
  Edges out;
  for (size_t s = 0; s < cells.size();) {
    size_t t = s;
    double p = 0, q = 0;
    for (; t < cells.size() && cells[t].i == cells[s].i && cells[t].j == cells[s].j; ++t) {
      p += cells[t].p;
      q += cells[t].q;
    }
    const double uni = p + q - p * q, inter = p * q;
    const double w = mix * uni + (1.0 - mix) * inter;
    if (w > 0) {
      out.head.push_back(cells[s].i);
      out.tail.push_back(cells[s].j);
      out.weight.push_back(w);
    }
    s = t;
  }
  return out;
}

// Connected components of the (symmetric) graph; returns the component of each vertex.
std::vector<int64_t> components(int64_t n, const Edges& g, int64_t& count) {
  std::vector<int64_t> parent(static_cast<size_t>(n));
  std::iota(parent.begin(), parent.end(), 0);
  std::function<int64_t(int64_t)> find = [&](int64_t x) {
    while (parent[static_cast<size_t>(x)] != x) x = parent[static_cast<size_t>(x)] = parent[static_cast<size_t>(parent[static_cast<size_t>(x)])];
    return x;
  };
  for (size_t t = 0; t < g.head.size(); ++t) {
    auto a = find(g.head[t]), b = find(g.tail[t]);
    if (a != b) parent[static_cast<size_t>(std::max(a, b))] = std::min(a, b);
  }
  std::vector<int64_t> comp(static_cast<size_t>(n), -1), id_of(static_cast<size_t>(n), -1);
  count = 0;
  for (int64_t v = 0; v < n; ++v) {
    auto r = find(v);
    if (id_of[static_cast<size_t>(r)] < 0) id_of[static_cast<size_t>(r)] = count++;
    comp[static_cast<size_t>(v)] = id_of[static_cast<size_t>(r)];
  }
  return comp;
}

// Laplacian eigenmap of one connected graph: the eigenvectors of D^-1/2 W D^-1/2 after the
// trivial one, found by block Krylov with full reorthogonalisation and Rayleigh-Ritz
// (a dense eigh when the graph is small). Returns [n, dims] float64.
torch::Tensor spectral_connected(int64_t n, const Edges& g, int dims, uint64_t seed) {
  torch::NoGradGuard ng;
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  std::vector<double> deg(static_cast<size_t>(n), 0.0);
  for (size_t t = 0; t < g.head.size(); ++t) deg[static_cast<size_t>(g.head[t])] += g.weight[t];
  std::vector<double> w(g.weight.size());
  for (size_t t = 0; t < w.size(); ++t)
    w[t] = g.weight[t] / std::sqrt(deg[static_cast<size_t>(g.head[t])] * deg[static_cast<size_t>(g.tail[t])]);
  auto trivial = torch::tensor(deg, opts).sqrt();
  trivial = trivial / trivial.norm();
  auto ij = torch::stack({torch::tensor(g.head, torch::kLong), torch::tensor(g.tail, torch::kLong)});
  auto m = torch::sparse_coo_tensor(ij, torch::tensor(w, opts), {n, n}).coalesce();
  if (n <= 2500) {
    auto [vals, vecs] = at::linalg_eigh(m.to_dense(), "L");  // ascending
    return vecs.flip(1).slice(1, 1, 1 + dims).contiguous();       // skip the trivial (eigenvalue 1)
  }
  const int64_t block = dims + 4;
  const int64_t steps = std::max<int64_t>(8, std::min<int64_t>(n - 1, 240) / block);
  auto gen = at::detail::createCPUGenerator(seed + 7);
  auto v = torch::randn({n, block}, gen, opts);
  std::vector<torch::Tensor> basis;
  auto orth = [&](torch::Tensor x) {
    for (int pass = 0; pass < 2; ++pass) {
      x = x - trivial.unsqueeze(1) * trivial.unsqueeze(0).matmul(x);
      for (auto& b : basis) x = x - b.matmul(b.t().matmul(x));
    }
    return std::get<0>(at::linalg_qr(x, "reduced"));
  };
  v = orth(v);
  for (int64_t s = 0; s < steps; ++s) {
    basis.push_back(v);
    v = orth(torch::mm(m, v));
  }
  auto q = torch::cat(basis, 1);
  auto h = q.t().matmul(torch::mm(m, q));
  h = (h + h.t()) / 2;
  auto [vals, vecs] = at::linalg_eigh(h, "L");
  return q.matmul(vecs.flip(1).slice(1, 0, dims)).contiguous();
}

// The subgraph of the vertices in `members` (renumbered 0..m-1).
Edges subgraph(const Edges& g, const std::vector<int64_t>& comp, int64_t c, const std::vector<int64_t>& local) {
  Edges s;
  for (size_t t = 0; t < g.head.size(); ++t)
    if (comp[static_cast<size_t>(g.head[t])] == c) {
      s.head.push_back(local[static_cast<size_t>(g.head[t])]);
      s.tail.push_back(local[static_cast<size_t>(g.tail[t])]);
      s.weight.push_back(g.weight[t]);
    }
  return s;
}

// umap-learn's spectral_layout, including its multi-component layout: components are
// placed apart (by the PCA of their centroids in data space) and each laid out on its own.
torch::Tensor spectral_init(const torch::Tensor& data, const Edges& g, int dims, uint64_t seed) {
  const int64_t n = data.size(0);
  int64_t nc = 0;
  auto comp = components(n, g, nc);
  if (nc == 1) return spectral_connected(n, g, dims, seed);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto comp_t = torch::tensor(comp, torch::kLong);
  auto x = data.to(torch::kFloat64);
  auto centroids = torch::zeros({nc, x.size(1)}, opts).index_add_(0, comp_t, x);
  auto counts = torch::zeros({nc}, opts).index_add_(0, comp_t, torch::ones({n}, opts));
  centroids = centroids / counts.unsqueeze(1);
  torch::Tensor meta;
  if (nc > dims) {
    auto cc = centroids - centroids.mean(0);
    auto [u, sv, vh] = at::linalg_svd(cc, false, c10::nullopt);
    meta = u.slice(1, 0, dims) * sv.slice(0, 0, dims);
  } else {
    meta = torch::eye(nc, dims, opts);  // fewer components than dims: the unit axes
  }
  meta = meta / meta.abs().max().clamp_min(1e-12);
  auto out = torch::zeros({n, dims}, opts);
  std::mt19937_64 rng(seed + 11);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  auto meta_d = torch::cdist(meta, meta);
  for (int64_t c = 0; c < nc; ++c) {
    auto row = meta_d[c].clone();
    row.index_put_({c}, std::numeric_limits<double>::infinity());
    double range = row.min().item<double>() / 2.0;
    if (!std::isfinite(range) || range <= 0) range = 0.5;
    std::vector<int64_t> members, local(static_cast<size_t>(n), -1);
    for (int64_t v = 0; v < n; ++v)
      if (comp[static_cast<size_t>(v)] == c) {
        local[static_cast<size_t>(v)] = static_cast<int64_t>(members.size());
        members.push_back(v);
      }
    const int64_t m = static_cast<int64_t>(members.size());
    torch::Tensor part;
    if (m < 2 * dims || m <= dims + 1) {
      part = torch::empty({m, dims}, opts);
      auto* p = part.data_ptr<double>();
      for (int64_t t = 0; t < m * dims; ++t) p[t] = uni(rng) * range;
    } else {
      part = spectral_connected(m, subgraph(g, comp, c, local), dims, seed + static_cast<uint64_t>(c));
      part = part * (range / part.abs().max().clamp_min(1e-12));
    }
    out.index_put_({torch::tensor(members, torch::kLong)}, part + meta[c].unsqueeze(0));
  }
  return out;
}

// A small fast PRNG for the SGD's negative samples (the role of umap-learn's tau_rand).
struct XorShift {
  uint64_t s;
  explicit XorShift(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull) {
    if (s == 0) s = 1;
  }
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
};

inline float clip4(float v) { return v > 4.f ? 4.f : (v < -4.f ? -4.f : v); }

struct SgdPlan {
  std::vector<int64_t> head, tail;
  std::vector<double> epochs_per_sample;
};

// Drops edges below max / n_epochs and computes epochs_per_sample = max / w.
SgdPlan plan_sgd(const Edges& g, int n_epochs) {
  SgdPlan p;
  double wmax = 0;
  for (double w : g.weight) wmax = std::max(wmax, w);
  for (size_t t = 0; t < g.weight.size(); ++t) {
    if (g.weight[t] < wmax / static_cast<double>(n_epochs)) continue;
    p.head.push_back(g.head[t]);
    p.tail.push_back(g.tail[t]);
    p.epochs_per_sample.push_back(wmax / g.weight[t]);
  }
  return p;
}

// umap-learn's optimize_layout_euclidean, single-threaded so a seed gives one layout.
// `head_emb` moves; `tail_emb` moves too when move_other (fit), stays when transforming.
// DIMS > 0 fixes the dimension at compile time (the 2-D maps: the per-dimension loops
// unroll, ~1.5x faster); DIMS == 0 reads it from `dims_rt`.
template <int DIMS>
void optimize_layout_impl(std::vector<float>& head_emb, std::vector<float>* tail_emb, int64_t n_tail, int dims_rt,
                     const SgdPlan& plan, int n_epochs, float a, float b, float gamma, float alpha0,
                     int negative_rate, uint64_t seed, bool move_other,
                     const std::function<void(int epoch)>& after_epoch) {
  const int dims = DIMS > 0 ? DIMS : dims_rt;
  std::vector<float>& tail = move_other ? head_emb : *tail_emb;
  const size_t ne = plan.head.size();
  std::vector<double> next_sample(plan.epochs_per_sample), eps_neg(ne), next_neg(ne);
  for (size_t i = 0; i < ne; ++i) {
    eps_neg[i] = plan.epochs_per_sample[i] / negative_rate;
    next_neg[i] = eps_neg[i];
  }
  XorShift rng(seed);
  for (int epoch = 0; epoch < n_epochs; ++epoch) {
    const float alpha = alpha0 * (1.0f - static_cast<float>(epoch) / static_cast<float>(n_epochs));
    const double now = epoch;
    for (size_t i = 0; i < ne; ++i) {
      if (next_sample[i] > now) continue;
      float* cur = head_emb.data() + plan.head[i] * dims;
      float* oth = tail.data() + plan.tail[i] * dims;
      float d2 = 0;
      for (int d = 0; d < dims; ++d) d2 += (cur[d] - oth[d]) * (cur[d] - oth[d]);
      float coeff = 0;
      if (d2 > 0) {
        const float pb = std::pow(d2, b);
        coeff = (-2.0f * a * b * pb / d2) / (a * pb + 1.0f);
      }
      for (int d = 0; d < dims; ++d) {
        const float g = clip4(coeff * (cur[d] - oth[d]));
        cur[d] += g * alpha;
        if (move_other) oth[d] -= g * alpha;
      }
      next_sample[i] += plan.epochs_per_sample[i];
      const int n_neg = static_cast<int>((now - next_neg[i]) / eps_neg[i]);
      for (int p = 0; p < n_neg; ++p) {
        // A uniform index in [0, n_tail) by multiply-shift (a 64-bit modulo costs more
        // than the rest of a negative sample).
        const int64_t kk = static_cast<int64_t>((rng.next() >> 32) * static_cast<uint64_t>(n_tail) >> 32);
        if (move_other && kk == plan.head[i]) continue;
        const float* o = tail.data() + kk * dims;
        float dn = 0;
        for (int d = 0; d < dims; ++d) dn += (cur[d] - o[d]) * (cur[d] - o[d]);
        if (dn <= 0) continue;
        const float c = 2.0f * gamma * b / ((0.001f + dn) * (a * std::pow(dn, b) + 1.0f));
        for (int d = 0; d < dims; ++d) cur[d] += clip4(c * (cur[d] - o[d])) * alpha;
      }
      next_neg[i] += n_neg * eps_neg[i];
    }
    if (after_epoch) after_epoch(epoch + 1);
  }
}

void optimize_layout(std::vector<float>& head_emb, std::vector<float>* tail_emb, int64_t n_tail, int dims,
                     const SgdPlan& plan, int n_epochs, float a, float b, float gamma, float alpha0,
                     int negative_rate, uint64_t seed, bool move_other,
                     const std::function<void(int epoch)>& after_epoch) {
  if (dims == 2)
    optimize_layout_impl<2>(head_emb, tail_emb, n_tail, dims, plan, n_epochs, a, b, gamma, alpha0, negative_rate, seed,
                            move_other, after_epoch);
  else
    optimize_layout_impl<0>(head_emb, tail_emb, n_tail, dims, plan, n_epochs, a, b, gamma, alpha0, negative_rate, seed,
                            move_other, after_epoch);
}

Points as_points(const std::vector<float>& v, int64_t rows, int64_t cols) {
  Points p;
  p.rows = rows;
  p.cols = cols;
  p.data = v;
  return p;
}

// Settings that apply for the whole fit: threads for LibTorch, restored afterwards.
struct ThreadScope {
  int saved;
  explicit ThreadScope(int threads) : saved(at::get_num_threads()) {
    if (threads > 0) at::set_num_threads(threads);
  }
  ~ThreadScope() { at::set_num_threads(saved); }
};

torch::Tensor prepare_data(const Points& x, Metric metric) {
  auto t = to_tensor(x);
  if (metric == Metric::Cosine) {
    auto norms = t.norm(2, 1, true);
    if ((norms == 0).any().item<bool>()) fail("umap: cosine metric needs non-zero rows; a row of the input is all zeros");
    t = t / norms;
  }
  return t;
}

KnnResult find_neighbours(const torch::Tensor& queries, const torch::Tensor& data, int k, const UmapOptions& o,
                          bool self_first, bool& approximate, const std::function<void(int64_t)>& progress) {
  approximate = data.size(0) > o.exact_knn_max;
  if (approximate)
    return hnsw_knn(queries, data, k, o.metric, self_first, o.threads > 0 ? o.threads : at::get_num_threads(), progress);
  const torch::Device dev(o.device);
  return exact_knn(queries.to(dev), data.to(dev), k, o.metric, self_first, progress);
}

}  // namespace

std::pair<float, float> fit_ab(float spread, float min_dist) {
  if (spread <= 0 || min_dist < 0 || min_dist > spread)
    fail("umap: needs spread > 0 and 0 <= min_dist <= spread, found spread {} min_dist {}", spread, min_dist);
  // Levenberg-Marquardt on the 300 points umap-learn's find_ab_params uses.
  std::vector<double> xs(300), ys(300);
  for (int i = 0; i < 300; ++i) {
    xs[static_cast<size_t>(i)] = 3.0 * spread * i / 299.0;
    ys[static_cast<size_t>(i)] = xs[static_cast<size_t>(i)] < min_dist ? 1.0 : std::exp(-(xs[static_cast<size_t>(i)] - min_dist) / spread);
  }
  double a = 1, b = 1, lambda = 1e-3;
  auto sse = [&](double a_, double b_) {
    double s = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      const double r = 1.0 / (1.0 + a_ * std::pow(xs[i], 2 * b_)) - ys[i];
      s += r * r;
    }
    return s;
  };
  double cur = sse(a, b);
  for (int it = 0; it < 500; ++it) {
    double jaa = 0, jab = 0, jbb = 0, ga = 0, gb = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (xs[i] <= 0) continue;  // f = 1 there for every a, b
      const double p = std::pow(xs[i], 2 * b), den = 1.0 + a * p, f = 1.0 / den;
      const double da = -p / (den * den), db = -a * p * 2.0 * std::log(xs[i]) / (den * den);
      const double r = f - ys[i];
      jaa += da * da;
      jab += da * db;
      jbb += db * db;
      ga += da * r;
      gb += db * r;
    }
    const double m11 = jaa * (1 + lambda), m22 = jbb * (1 + lambda), det = m11 * m22 - jab * jab;
    if (det == 0) break;
    const double sa = -(m22 * ga - jab * gb) / det, sb = -(m11 * gb - jab * ga) / det;
    const double na = a + sa, nb = b + sb, next = (na > 0 && nb > 0) ? sse(na, nb) : cur + 1;
    if (next < cur) {
      const bool done = cur - next < 1e-15 * std::max(1.0, cur);
      a = na;
      b = nb;
      cur = next;
      lambda = std::max(lambda / 10, 1e-12);
      if (done) break;
    } else {
      lambda *= 10;
      if (lambda > 1e12) break;
    }
  }
  return {static_cast<float>(a), static_cast<float>(b)};
}

UmapModel umap_fit(const Points& x, const UmapOptions& o, runtime::JobContext* ctx) {
  if (o.n_neighbors < 2) fail("umap: --neighbors must be at least 2, found {}", o.n_neighbors);
  if (x.rows <= o.n_neighbors)
    fail("umap: needs more points than --neighbors ({}), found {} points", o.n_neighbors, x.rows);
  if (o.dims < 1) fail("umap: --dims must be at least 1, found {}", o.dims);
  if (o.init != "spectral" && o.init != "pca" && o.init != "random")
    fail("umap: init must be spectral, pca or random, found \"{}\"", o.init);
  ThreadScope threads(o.threads);
  torch::NoGradGuard ng;
  const int64_t n = x.rows;
  const int dims = o.dims;
  UmapModel model;
  model.options = o;
  model.options.on_frame = nullptr;  // the model outlives the caller's callback
  auto data = prepare_data(x, o.metric);
  model.data = to_points(data);

  if (ctx) ctx->set_stage("knn", n, "points");
  auto knn = find_neighbours(data, data, o.n_neighbors, o, /*self_first=*/true, model.approximate_knn,
                             [&](int64_t done) {
                               if (ctx) {
                                 ctx->set_done(done);
                                 ctx->check_cancel();
                               }
                             });
  if (ctx) ctx->set_stage("graph", 0);
  std::vector<double> rho, sigma;
  smooth_knn_dist(knn, o.local_connectivity, rho, sigma);
  auto graph = fuzzy_union(membership(knn, rho, sigma, /*bipartite=*/false), o.set_op_mix_ratio);
  std::tie(model.a, model.b) = fit_ab(o.spread, o.min_dist);
  const int n_epochs = o.n_epochs > 0 ? o.n_epochs : (n <= 10000 ? 500 : 200);
  model.n_epochs = n_epochs;

  if (ctx) ctx->set_stage("init", 0);
  torch::Tensor init;
  if (o.init == "spectral") {
    init = spectral_init(data, graph, dims, o.seed);
  } else if (o.init == "pca") {
    PcaOptions po;
    po.dims = dims;
    init = to_tensor(pca(model.data, po).coords).to(torch::kFloat64);
  } else {
    init = torch::rand({n, dims}, at::detail::createCPUGenerator(o.seed), torch::kFloat64) * 20.0 - 10.0;
  }
  if (o.init != "random") {
    // umap-learn: scale to max |x| = 10 and add a little noise, then to [0, 10] per axis.
    init = init * (10.0 / init.abs().max().clamp_min(1e-12));
    init = init + torch::randn({n, dims}, at::detail::createCPUGenerator(o.seed + 1), torch::kFloat64) * 1e-4;
  }
  auto lo = std::get<0>(init.min(0)), hi = std::get<0>(init.max(0));
  init = 10.0 * (init - lo) / (hi - lo).clamp_min(1e-12);
  auto init_f = init.to(torch::kFloat32).contiguous();
  std::vector<float> emb(init_f.data_ptr<float>(), init_f.data_ptr<float>() + n * dims);

  auto publish = [&](int epoch) {
    if (o.on_frame && o.publish_every > 0 && (epoch % o.publish_every == 0 || epoch == n_epochs))
      o.on_frame(UmapFrame{epoch, n_epochs, as_points(emb, n, dims)});
  };
  publish(0);
  if (ctx) ctx->set_stage("optimize", n_epochs, "epochs");
  optimize_layout(emb, nullptr, n, dims, plan_sgd(graph, n_epochs), n_epochs, model.a, model.b,
                  o.repulsion_strength, o.learning_rate, o.negative_sample_rate, o.seed, /*move_other=*/true,
                  [&](int epoch) {
                    publish(epoch);
                    if (ctx) {
                      ctx->set_done(epoch);
                      ctx->check_cancel();
                    }
                  });
  model.embedding = as_points(emb, n, dims);
  return model;
}

Points umap_transform(const UmapModel& model, const Points& x, runtime::JobContext* ctx) {
  const auto& o = model.options;
  if (x.cols != model.data.cols)
    fail("umap transform: the map was fitted on {}-dim rows, the new rows have {}", model.data.cols, x.cols);
  if (x.rows == 0) return Points{0, o.dims, {}};
  ThreadScope threads(o.threads);
  torch::NoGradGuard ng;
  const int dims = o.dims;
  const int64_t m = x.rows, n = model.data.rows;
  auto queries = prepare_data(x, o.metric);
  auto data = to_tensor(model.data);
  bool approx = false;
  if (ctx) ctx->set_stage("knn", m, "points");
  auto knn = find_neighbours(queries, data, o.n_neighbors, o, /*self_first=*/false, approx, {});
  std::vector<double> rho, sigma;
  smooth_knn_dist(knn, std::max(0.0, static_cast<double>(o.local_connectivity) - 1.0), rho, sigma);
  auto g = membership(knn, rho, sigma, /*bipartite=*/true);
  // Start: the membership-weighted mean of the neighbours' positions.
  std::vector<float> emb(static_cast<size_t>(m * dims), 0.0f);
  std::vector<double> wsum(static_cast<size_t>(m), 0.0);
  for (size_t t = 0; t < g.head.size(); ++t) wsum[static_cast<size_t>(g.head[t])] += g.weight[t];
  for (size_t t = 0; t < g.head.size(); ++t)
    for (int d = 0; d < dims; ++d)
      emb[static_cast<size_t>(g.head[t] * dims + d)] +=
          static_cast<float>(g.weight[t] / wsum[static_cast<size_t>(g.head[t])]) * model.embedding.at(g.tail[t], d);
  const int n_epochs = o.n_epochs > 0 ? std::max(1, o.n_epochs / 3) : (m <= 10000 ? 100 : 30);
  std::vector<float> fixed = model.embedding.data;
  if (ctx) ctx->set_stage("optimize", n_epochs, "epochs");
  optimize_layout(emb, &fixed, n, dims, plan_sgd(g, n_epochs), n_epochs, model.a, model.b, o.repulsion_strength,
                  o.learning_rate / 4.0f, o.negative_sample_rate, o.seed + 1, /*move_other=*/false, [&](int epoch) {
                    if (ctx) {
                      ctx->set_done(epoch);
                      ctx->check_cancel();
                    }
                  });
  return as_points(emb, m, dims);
}

}  // namespace genlens::analysis
