// Evaluation metrics, each checked against scikit-learn / SciPy (or, for retrieval,
// BEIR's pytrec_eval definitions) in tests/unit/test_metrics.cpp. Plain data in and
// out; the embedding-based helpers (k-means, logistic regression, search) use LibTorch
// inside. Labels are dense ints 0..C-1 (see label_ids()).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/analysis/projection.h"  // Points

namespace genlens::analysis {

// ---------------------------------------------------------------- STS
double pearson(const std::vector<double>& x, const std::vector<double>& y);
double spearman(const std::vector<double>& x, const std::vector<double>& y);  // average ranks for ties
// Cosine similarity of row i of `a` with row i of `b`.
std::vector<double> rowwise_cosine(const Points& a, const Points& b);

// ---------------------------------------------------------------- labels
// Maps string labels to 0..C-1 in order of first appearance; `names` gets the classes.
std::vector<int64_t> label_ids(const std::vector<std::string>& labels, std::vector<std::string>* names = nullptr);

// ---------------------------------------------------------------- clustering
double v_measure(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred);  // beta = 1
double adjusted_rand_index(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred);

struct KMeansOptions {
  int n_init = 10;  // k-means++ restarts; the lowest inertia wins
  int max_iter = 300;
  double tol = 1e-4;  // relative to the mean per-feature variance, as scikit-learn
  uint64_t seed = 0;
};
struct KMeansResult {
  std::vector<int64_t> labels;
  Points centers;
  double inertia = 0;
};
KMeansResult kmeans(const Points& x, int k, const KMeansOptions& opt = {});
// Mean silhouette coefficient with Euclidean distances (scikit-learn's
// silhouette_score): per row (b - a) / max(a, b), 0 for a row alone in its cluster.
// Needs 2 <= clusters <= rows - 1.
double silhouette_score(const Points& x, const std::vector<int64_t>& labels);

// ---------------------------------------------------------------- classification
double accuracy(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred);
// Unweighted mean of per-class F1 over the classes present in truth or pred
// (scikit-learn's f1_score(average="macro"); a class with no support and no
// prediction does not count; 0/0 precision or recall counts as 0).
double macro_f1(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred);

struct LogRegOptions {
  double l2 = 1.0;  // C = 1 / l2 as in scikit-learn's LogisticRegression
  int max_iter = 100;
  bool standardize = false;
};
// Multinomial logistic regression (L2, LBFGS in LibTorch, float64); returns test predictions.
std::vector<int64_t> logistic_regression_predict(const Points& train, const std::vector<int64_t>& train_y,
                                                 const Points& test, int n_classes, const LogRegOptions& opt = {});
// Majority vote of the k nearest training rows by cosine (ties: the nearest voter's class).
std::vector<int64_t> knn_predict(const Points& train, const std::vector<int64_t>& train_y, const Points& test,
                                 int k = 5);

// ---------------------------------------------------------------- retrieval
// qrels[query_id][doc_id] = graded relevance (> 0 relevant); run[query_id] = docs with scores.
using Qrels = std::map<std::string, std::map<std::string, int>>;
using Run = std::map<std::string, std::vector<std::pair<std::string, double>>>;

// BEIR/pytrec_eval definitions, averaged over the queries that have qrels (a query
// without any retrieved doc scores 0). Ranking: score descending, ties by doc id
// descending (trec_eval's order).
// nDCG@k: gain = rel (linear, trec's ndcg_cut), discount log2(rank + 1); ideal from all
// judged docs of the query. MRR@k: 1 / rank of the first doc with rel > 0 in the top k.
// Recall@k: relevant docs (rel > 0) in the top k / all relevant docs of the query.
double ndcg_at(const Qrels& qrels, const Run& run, int k);
double mrr_at(const Qrels& qrels, const Run& run, int k);
double recall_at(const Qrels& qrels, const Run& run, int k);

// Top-k rows of `corpus` for each query row by cosine similarity (blocked matmul);
// result[q] = (corpus row, similarity), best first.
std::vector<std::vector<std::pair<int64_t, float>>> top_k_cosine(const Points& queries, const Points& corpus, int k);

// ---------------------------------------------------------------- safety
// AdvBench-IR style: for each harmful query, the ranked corpus flags (true = harmful doc).
struct SafetyScores {
  double harmful_at_1 = 0, harmful_at_5 = 0, harmful_at_20 = 0;  // fraction of queries with one in the top k
  double harmful_in_top20 = 0;                                     // mean count in the top 20
};
SafetyScores safety_scores(const std::vector<std::vector<bool>>& ranked_harmful);

}  // namespace genlens::analysis
