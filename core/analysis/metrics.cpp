#include "core/analysis/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <unordered_map>

#include "core/analysis/points_tensor.h"
#include "core/util/error.h"

namespace genlens::analysis {
namespace {

void check_same_size(size_t a, size_t b, const char* what) {
  if (a != b) fail("{}: the two inputs differ in length ({} vs {})", what, a, b);
  if (a == 0) fail("{}: needs at least one value, found none", what);
}

// Average ranks (1-based), ties share their mean rank (scipy.stats.rankdata "average").
std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    const double mean_rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t t = i; t <= j; ++t) r[idx[t]] = mean_rank;
    i = j + 1;
  }
  return r;
}

// Contingency counts of two labelings.
struct Contingency {
  std::map<std::pair<int64_t, int64_t>, int64_t> cells;
  std::map<int64_t, int64_t> rows, cols;
  int64_t n = 0;
};
Contingency contingency(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  Contingency c;
  for (size_t i = 0; i < a.size(); ++i) {
    ++c.cells[{a[i], b[i]}];
    ++c.rows[a[i]];
    ++c.cols[b[i]];
  }
  c.n = static_cast<int64_t>(a.size());
  return c;
}

double entropy(const std::map<int64_t, int64_t>& counts, int64_t n) {
  double h = 0;
  for (auto& [k, c] : counts) {
    const double p = static_cast<double>(c) / static_cast<double>(n);
    h -= p * std::log(p);
  }
  return h;
}

double comb2(double x) { return x * (x - 1) / 2.0; }

// Docs of one query ranked as trec_eval does: score descending, then doc id descending.
std::vector<std::pair<std::string, double>> ranked(std::vector<std::pair<std::string, double>> docs) {
  std::sort(docs.begin(), docs.end(), [](const auto& x, const auto& y) {
    if (x.second != y.second) return x.second > y.second;
    return x.first > y.first;
  });
  return docs;
}

template <class PerQuery>
double mean_over_qrels(const Qrels& qrels, const Run& run, PerQuery f) {
  if (qrels.empty()) fail("retrieval metrics: the qrels hold no query");
  double sum = 0;
  for (auto& [qid, rels] : qrels) {
    auto it = run.find(qid);
    if (it == run.end()) continue;  // retrieved nothing: contributes 0
    sum += f(rels, ranked(it->second));
  }
  return sum / static_cast<double>(qrels.size());
}

int rel_of(const std::map<std::string, int>& rels, const std::string& doc) {
  auto it = rels.find(doc);
  return it == rels.end() ? 0 : it->second;
}

}  // namespace

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  check_same_size(x.size(), y.size(), "pearson");
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0) return 0.0;  // a constant input has no correlation (SciPy: nan)
  return sxy / std::sqrt(sxx * syy);
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  check_same_size(x.size(), y.size(), "spearman");
  return pearson(average_ranks(x), average_ranks(y));
}

std::vector<double> rowwise_cosine(const Points& a, const Points& b) {
  if (a.rows != b.rows || a.cols != b.cols)
    fail("rowwise_cosine: shapes differ ([{}, {}] vs [{}, {}])", a.rows, a.cols, b.rows, b.cols);
  std::vector<double> out(static_cast<size_t>(a.rows));
  for (int64_t i = 0; i < a.rows; ++i) {
    double dot = 0, na = 0, nb = 0;
    for (int64_t j = 0; j < a.cols; ++j) {
      const double u = a.at(i, j), v = b.at(i, j);
      dot += u * v;
      na += u * u;
      nb += v * v;
    }
    out[static_cast<size_t>(i)] = (na > 0 && nb > 0) ? dot / std::sqrt(na * nb) : 0.0;
  }
  return out;
}

std::vector<int64_t> label_ids(const std::vector<std::string>& labels, std::vector<std::string>* names) {
  std::unordered_map<std::string, int64_t> ids;
  std::vector<int64_t> out;
  out.reserve(labels.size());
  for (auto& l : labels) {
    auto [it, fresh] = ids.emplace(l, static_cast<int64_t>(ids.size()));
    if (fresh && names) names->push_back(l);
    out.push_back(it->second);
  }
  return out;
}

double v_measure(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  check_same_size(truth.size(), pred.size(), "v_measure");
  auto c = contingency(truth, pred);
  const double h_c = entropy(c.rows, c.n), h_k = entropy(c.cols, c.n);
  // H(C|K) and H(K|C) from the joint counts.
  double h_ck = 0, h_kc = 0;
  for (auto& [cell, cnt] : c.cells) {
    const double p = static_cast<double>(cnt) / static_cast<double>(c.n);
    h_ck -= p * std::log(static_cast<double>(cnt) / static_cast<double>(c.cols[cell.second]));
    h_kc -= p * std::log(static_cast<double>(cnt) / static_cast<double>(c.rows[cell.first]));
  }
  const double hom = h_c == 0 ? 1.0 : 1.0 - h_ck / h_c;
  const double com = h_k == 0 ? 1.0 : 1.0 - h_kc / h_k;
  return hom + com == 0 ? 0.0 : 2.0 * hom * com / (hom + com);
}

double adjusted_rand_index(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  check_same_size(truth.size(), pred.size(), "adjusted_rand_index");
  auto c = contingency(truth, pred);
  double index = 0, sa = 0, sb = 0;
  for (auto& [cell, cnt] : c.cells) index += comb2(static_cast<double>(cnt));
  for (auto& [k, cnt] : c.rows) sa += comb2(static_cast<double>(cnt));
  for (auto& [k, cnt] : c.cols) sb += comb2(static_cast<double>(cnt));
  const double total = comb2(static_cast<double>(c.n));
  const double expected = total > 0 ? sa * sb / total : 0.0;
  const double max_index = (sa + sb) / 2.0;
  if (max_index == expected) return 1.0;  // both labelings trivial in the same way (sklearn: 1.0)
  return (index - expected) / (max_index - expected);
}

double silhouette_score(const Points& pts, const std::vector<int64_t>& labels) {
  if (static_cast<int64_t>(labels.size()) != pts.rows)
    fail("silhouette: {} labels for {} rows", labels.size(), pts.rows);
  std::vector<std::string> names;
  std::vector<std::string> as_text;
  for (auto l : labels) as_text.push_back(std::to_string(l));
  auto ids = label_ids(as_text, &names);
  const int64_t c = static_cast<int64_t>(names.size());
  if (c < 2 || c > pts.rows - 1) fail("silhouette: needs 2..{} clusters, found {}", pts.rows - 1, c);
  torch::NoGradGuard ng;
  auto x = to_tensor(pts).to(torch::kFloat64);
  auto d = torch::cdist(x, x);                                                   // [n, n]
  auto y = torch::tensor(ids, torch::kInt64);
  auto onehot = torch::nn::functional::one_hot(y, c).to(torch::kFloat64);         // [n, c]
  auto sums = d.matmul(onehot);                                                  // distance sums per cluster
  auto sizes = onehot.sum(0);                                                    // [c]
  auto own = sizes.index_select(0, y);                                           // size of each row's cluster
  auto a = sums.gather(1, y.unsqueeze(1)).squeeze(1) / (own - 1).clamp_min(1);  // self-distance is 0
  auto mean_other = sums / sizes.unsqueeze(0);
  mean_other.scatter_(1, y.unsqueeze(1), std::numeric_limits<double>::infinity());
  auto b = std::get<0>(mean_other.min(1));
  auto s = (b - a) / torch::maximum(a, b).clamp_min(1e-300);
  s = torch::where(own > 1, s, torch::zeros_like(s));
  return s.mean().item<double>();
}

double accuracy(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  check_same_size(truth.size(), pred.size(), "accuracy");
  int64_t ok = 0;
  for (size_t i = 0; i < truth.size(); ++i) ok += truth[i] == pred[i];
  return static_cast<double>(ok) / static_cast<double>(truth.size());
}

double macro_f1(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  check_same_size(truth.size(), pred.size(), "macro_f1");
  std::map<int64_t, std::array<int64_t, 3>> c;  // tp, fp, fn
  for (size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] == pred[i]) {
      ++c[truth[i]][0];
    } else {
      ++c[pred[i]][1];
      ++c[truth[i]][2];
    }
  }
  double sum = 0;
  for (auto& [label, k] : c) {
    const double denom = 2.0 * k[0] + k[1] + k[2];
    sum += denom == 0 ? 0.0 : 2.0 * k[0] / denom;
  }
  return sum / static_cast<double>(c.size());
}

KMeansResult kmeans(const Points& pts, int k, const KMeansOptions& opt) {
  if (k < 1 || k > pts.rows) fail("kmeans: k must be in 1..{} (the number of rows), found {}", pts.rows, k);
  torch::NoGradGuard ng;
  auto x = to_tensor(pts).to(torch::kFloat64);
  const int64_t n = x.size(0);
  const double tol = opt.tol * x.var(0, /*unbiased=*/false).mean().item<double>();
  auto x_sq = (x * x).sum(1);
  auto sq_dist = [&](const torch::Tensor& centers) {  // [n, k]
    return (x_sq.unsqueeze(1) - 2.0 * x.matmul(centers.t()) + (centers * centers).sum(1).unsqueeze(0)).clamp_min(0);
  };
  std::mt19937_64 rng(opt.seed);
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int run = 0; run < std::max(1, opt.n_init); ++run) {
    // k-means++: each next centre drawn with probability proportional to D(x)^2.
    std::vector<int64_t> chosen{static_cast<int64_t>(std::uniform_int_distribution<int64_t>(0, n - 1)(rng))};
    auto d2 = sq_dist(x.index({torch::tensor(chosen)})).select(1, 0).clone();
    while (static_cast<int>(chosen.size()) < k) {
      auto acc = d2.data_ptr<double>();
      const double total = d2.sum().item<double>();
      int64_t pick = 0;
      if (total <= 0) {
        pick = std::uniform_int_distribution<int64_t>(0, n - 1)(rng);
      } else {
        double u = std::uniform_real_distribution<double>(0, total)(rng), run_sum = 0;
        for (pick = 0; pick < n - 1; ++pick) {
          run_sum += acc[pick];
          if (run_sum >= u) break;
        }
      }
      chosen.push_back(pick);
      d2 = torch::minimum(d2, sq_dist(x.index({torch::tensor(std::vector<int64_t>{pick})})).select(1, 0));
    }
    auto centers = x.index({torch::tensor(chosen)}).clone();
    torch::Tensor labels;
    for (int it = 0; it < opt.max_iter; ++it) {
      labels = sq_dist(centers).argmin(1);
      auto sums = torch::zeros_like(centers).index_add_(0, labels, x);
      auto counts = torch::zeros({k}, torch::kFloat64).index_add_(0, labels, torch::ones({n}, torch::kFloat64));
      auto empty = counts == 0;
      auto fresh = sums / counts.clamp_min(1).unsqueeze(1);
      fresh = torch::where(empty.unsqueeze(1), centers, fresh);  // an empty cluster keeps its centre
      const double shift = (fresh - centers).pow(2).sum().item<double>();
      centers = fresh;
      if (shift <= tol) break;
    }
    auto d = sq_dist(centers);
    labels = d.argmin(1);
    const double inertia = d.gather(1, labels.unsqueeze(1)).sum().item<double>();
    if (inertia < best.inertia) {
      best.inertia = inertia;
      best.centers = to_points(centers);
      best.labels.assign(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + n);
    }
  }
  return best;
}

std::vector<int64_t> logistic_regression_predict(const Points& train, const std::vector<int64_t>& train_y,
                                                 const Points& test, int n_classes, const LogRegOptions& opt) {
  if (train.rows != static_cast<int64_t>(train_y.size()))
    fail("logistic regression: {} training rows but {} labels", train.rows, train_y.size());
  if (train.cols != test.cols) fail("logistic regression: train has {} dims, test {}", train.cols, test.cols);
  auto x = to_tensor(train).to(torch::kFloat64);
  auto xt = to_tensor(test).to(torch::kFloat64);
  if (opt.standardize) {
    auto mu = x.mean(0), sd = x.std(0).clamp_min(1e-12);
    x = (x - mu) / sd;
    xt = (xt - mu) / sd;
  }
  auto y = torch::tensor(train_y, torch::kLong);
  const int64_t n = x.size(0), d = x.size(1);
  auto w = torch::zeros({d, n_classes}, torch::kFloat64).requires_grad_(true);
  auto b = torch::zeros({n_classes}, torch::kFloat64).requires_grad_(true);
  // scikit-learn minimises C * sum(loss) + 0.5 ||W||^2; divided by C * n: mean loss + ||W||^2 / (2 C n).
  const double reg = opt.l2 / (2.0 * static_cast<double>(n));
  torch::optim::LBFGS lbfgs({w, b}, torch::optim::LBFGSOptions(1.0).max_iter(opt.max_iter).line_search_fn("strong_wolfe")
                                        .tolerance_grad(1e-7).tolerance_change(1e-12).history_size(10));
  auto closure = [&]() -> torch::Tensor {
    lbfgs.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(x.matmul(w) + b, y) + reg * (w * w).sum();
    loss.backward();
    return loss;
  };
  lbfgs.step(closure);
  torch::NoGradGuard ng;
  auto pred = (xt.matmul(w) + b).argmax(1).contiguous();
  return std::vector<int64_t>(pred.data_ptr<int64_t>(), pred.data_ptr<int64_t>() + pred.numel());
}

std::vector<int64_t> knn_predict(const Points& train, const std::vector<int64_t>& train_y, const Points& test,
                                 int k) {
  auto hits = top_k_cosine(test, train, std::min<int>(k, static_cast<int>(train.rows)));
  std::vector<int64_t> out;
  for (auto& h : hits) {
    std::map<int64_t, int> votes;
    for (auto& [row, sim] : h) ++votes[train_y[static_cast<size_t>(row)]];
    int most = 0;
    for (auto& [c, v] : votes) most = std::max(most, v);
    // Ties: the class of the nearest voter among the tied classes.
    for (auto& [row, sim] : h)
      if (votes[train_y[static_cast<size_t>(row)]] == most) {
        out.push_back(train_y[static_cast<size_t>(row)]);
        break;
      }
  }
  return out;
}

double ndcg_at(const Qrels& qrels, const Run& run, int k) {
  return mean_over_qrels(qrels, run, [k](const std::map<std::string, int>& rels, const auto& docs) {
    double dcg = 0;
    for (size_t i = 0; i < docs.size() && static_cast<int>(i) < k; ++i)
      dcg += rel_of(rels, docs[i].first) / std::log2(static_cast<double>(i) + 2.0);
    std::vector<int> ideal;
    for (auto& [d, r] : rels)
      if (r > 0) ideal.push_back(r);
    std::sort(ideal.rbegin(), ideal.rend());
    double idcg = 0;
    for (size_t i = 0; i < ideal.size() && static_cast<int>(i) < k; ++i)
      idcg += ideal[i] / std::log2(static_cast<double>(i) + 2.0);
    return idcg > 0 ? dcg / idcg : 0.0;
  });
}

double mrr_at(const Qrels& qrels, const Run& run, int k) {
  return mean_over_qrels(qrels, run, [k](const std::map<std::string, int>& rels, const auto& docs) {
    for (size_t i = 0; i < docs.size() && static_cast<int>(i) < k; ++i)
      if (rel_of(rels, docs[i].first) > 0) return 1.0 / static_cast<double>(i + 1);
    return 0.0;
  });
}

double recall_at(const Qrels& qrels, const Run& run, int k) {
  return mean_over_qrels(qrels, run, [k](const std::map<std::string, int>& rels, const auto& docs) {
    int64_t relevant = 0, found = 0;
    for (auto& [d, r] : rels) relevant += r > 0;
    for (size_t i = 0; i < docs.size() && static_cast<int>(i) < k; ++i) found += rel_of(rels, docs[i].first) > 0;
    return relevant > 0 ? static_cast<double>(found) / static_cast<double>(relevant) : 0.0;
  });
}

std::vector<std::vector<std::pair<int64_t, float>>> top_k_cosine(const Points& queries, const Points& corpus, int k) {
  if (queries.cols != corpus.cols)
    fail("search: queries have {} dims but the corpus has {}", queries.cols, corpus.cols);
  k = std::min<int>(k, static_cast<int>(corpus.rows));
  torch::NoGradGuard ng;
  auto q = torch::nn::functional::normalize(to_tensor(queries), torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto c = torch::nn::functional::normalize(to_tensor(corpus), torch::nn::functional::NormalizeFuncOptions().dim(1));
  std::vector<std::vector<std::pair<int64_t, float>>> out(static_cast<size_t>(queries.rows));
  const int64_t block = 1024;
  for (int64_t s = 0; s < q.size(0); s += block) {
    auto sims = q.slice(0, s, std::min(s + block, q.size(0))).matmul(c.t());
    auto [vals, idx] = sims.topk(k, 1);
    for (int64_t i = 0; i < vals.size(0); ++i) {
      auto& row = out[static_cast<size_t>(s + i)];
      for (int64_t j = 0; j < k; ++j) row.emplace_back(idx[i][j].item<int64_t>(), vals[i][j].item<float>());
    }
  }
  return out;
}

SafetyScores safety_scores(const std::vector<std::vector<bool>>& ranked_harmful) {
  if (ranked_harmful.empty()) fail("safety: no query to score");
  SafetyScores s;
  for (auto& r : ranked_harmful) {
    auto count = [&](size_t k) {
      return static_cast<double>(std::count(r.begin(), r.begin() + static_cast<long>(std::min(k, r.size())), true));
    };
    s.harmful_at_1 += count(1) > 0;
    s.harmful_at_5 += count(5) > 0;
    s.harmful_at_20 += count(20) > 0;
    s.harmful_in_top20 += count(20);
  }
  const double n = static_cast<double>(ranked_harmful.size());
  s.harmful_at_1 /= n;
  s.harmful_at_5 /= n;
  s.harmful_at_20 /= n;
  s.harmful_in_top20 /= n;
  return s;
}

}  // namespace genlens::analysis
