// Each metric against scikit-learn / SciPy (and BEIR's pytrec_eval definitions written
// independently in tests/reference/metrics_ref.py) on fixed inputs, to 1e-6.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "core/analysis/map_regions.h"
#include "core/analysis/metrics.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace genlens;
using namespace genlens::analysis;
using Json = nlohmann::json;

namespace {

const Json& reference() {
  static Json ref = [] {
    auto r = test::run_command(test::system_python() + " " +
                               test::shell_quote((test::source_dir() / "tests/reference/metrics_ref.py").string()) +
                               " 2>/dev/null");
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    return Json::parse(r.output);
  }();
  return ref;
}

Points points_of(const Json& rows) {
  Points p;
  p.rows = static_cast<int64_t>(rows.size());
  p.cols = static_cast<int64_t>(rows[0].size());
  for (auto& r : rows)
    for (auto& v : r) p.data.push_back(v.get<float>());
  return p;
}

Qrels qrels_of(const Json& j) {
  Qrels q;
  for (auto& [qid, docs] : j.items())
    for (auto& [doc, rel] : docs.items()) q[qid][doc] = rel.get<int>();
  return q;
}

Run run_of(const Json& j) {
  Run r;
  for (auto& [qid, docs] : j.items())
    for (auto& [doc, score] : docs.items()) r[qid].emplace_back(doc, score.get<double>());
  return r;
}

}  // namespace

TEST_CASE("metrics: Spearman and Pearson equal SciPy (with ties)") {
  auto& s = reference()["sts"];
  auto x = s["x"].get<std::vector<double>>(), y = s["y"].get<std::vector<double>>();
  CHECK(spearman(x, y) == doctest::Approx(s["spearman"].get<double>()).epsilon(1e-6));
  CHECK(pearson(x, y) == doctest::Approx(s["pearson"].get<double>()).epsilon(1e-6));
}

TEST_CASE("metrics: V-measure equals scikit-learn") {
  auto& c = reference()["clustering"];
  auto t = c["truth"].get<std::vector<int64_t>>(), p = c["pred"].get<std::vector<int64_t>>();
  CHECK(std::abs(v_measure(t, p) - c["v_measure"].get<double>()) < 1e-6);
  CHECK(v_measure(t, t) == doctest::Approx(1.0));
}

TEST_CASE("metrics: adjusted Rand index equals scikit-learn") {
  auto& c = reference()["clustering"];
  auto t = c["truth"].get<std::vector<int64_t>>(), p = c["pred"].get<std::vector<int64_t>>();
  CHECK(std::abs(adjusted_rand_index(t, p) - c["ari"].get<double>()) < 1e-6);
  CHECK(adjusted_rand_index(t, t) == doctest::Approx(1.0));
}

TEST_CASE("metrics: macro-F1 and accuracy equal scikit-learn (absent and never-predicted classes)") {
  auto& c = reference()["classification"];
  auto t = c["truth"].get<std::vector<int64_t>>(), p = c["pred"].get<std::vector<int64_t>>();
  CHECK(std::abs(macro_f1(t, p) - c["macro_f1"].get<double>()) < 1e-6);
  CHECK(std::abs(accuracy(t, p) - c["accuracy"].get<double>()) < 1e-12);
}

TEST_CASE("metrics: nDCG@10 with graded qrels follows pytrec_eval's ndcg_cut") {
  auto& r = reference()["retrieval"];
  CHECK(std::abs(ndcg_at(qrels_of(r["qrels"]), run_of(r["run"]), 10) - r["ndcg_at_10"].get<double>()) < 1e-6);
}

TEST_CASE("metrics: MRR@10 follows BEIR's definition") {
  auto& r = reference()["retrieval"];
  CHECK(std::abs(mrr_at(qrels_of(r["qrels"]), run_of(r["run"]), 10) - r["mrr_at_10"].get<double>()) < 1e-6);
}

TEST_CASE("metrics: Recall@100 follows pytrec_eval's recall") {
  auto& r = reference()["retrieval"];
  CHECK(std::abs(recall_at(qrels_of(r["qrels"]), run_of(r["run"]), 100) - r["recall_at_100"].get<double>()) < 1e-6);
}

TEST_CASE("metrics: logistic regression predicts as scikit-learn's LogisticRegression") {
  auto& l = reference()["logreg"];
  auto pred = logistic_regression_predict(points_of(l["train"]), l["train_y"].get<std::vector<int64_t>>(),
                                          points_of(l["test"]), 4, LogRegOptions{1.0, 1000, false});
  auto ref = l["pred"].get<std::vector<int64_t>>();
  // Two LBFGS runs stop at slightly different optima: a point near a boundary may flip.
  CHECK(accuracy(ref, pred) >= 0.98);
}

TEST_CASE("metrics: k-means++ finds the blobs scikit-learn finds, at its inertia") {
  auto& k = reference()["kmeans"];
  auto x = points_of(k["x"]);
  auto res = kmeans(x, 4, KMeansOptions{});
  CHECK(adjusted_rand_index(k["y"].get<std::vector<int64_t>>(), res.labels) ==
        doctest::Approx(k["ari"].get<double>()).epsilon(1e-9));
  CHECK(res.inertia == doctest::Approx(k["inertia"].get<double>()).epsilon(1e-6));
}

TEST_CASE("metrics: silhouette equals scikit-learn (imperfect labels, a singleton cluster)") {
  auto& k = reference()["kmeans"];
  auto& s = reference()["silhouette"];
  auto x = points_of(k["x"]);
  CHECK(silhouette_score(x, s["labels"].get<std::vector<int64_t>>()) ==
        doctest::Approx(s["score"].get<double>()).epsilon(1e-6));
  CHECK_THROWS_AS(silhouette_score(x, std::vector<int64_t>(static_cast<size_t>(x.rows), 0)), Error);
}

TEST_CASE("map regions: five separated blobs on a 2-D map give five regions, members nearest the centre") {
  auto& s = reference()["silhouette"];
  auto x = points_of(s["x2"]);
  auto truth = s["y2"].get<std::vector<int64_t>>();
  auto regions = find_map_regions(x, {});
  REQUIRE(regions.size() == 5);
  int64_t total = 0;
  for (size_t i = 0; i < regions.size(); ++i) {
    auto& r = regions[i];
    total += r.size;
    if (i > 0) CHECK(r.size <= regions[i - 1].size);
    REQUIRE(r.nearest.size() == 8);
    // The representatives all come from one true blob, and the first is nearest the centre.
    for (auto m : r.nearest) CHECK(truth[size_t(m)] == truth[size_t(r.nearest[0])]);
    auto d = [&](int64_t m) { return std::hypot(x.at(m, 0) - r.cx, x.at(m, 1) - r.cy); };
    for (size_t j = 1; j < r.nearest.size(); ++j) CHECK(d(r.nearest[j - 1]) <= d(r.nearest[j]) + 1e-6);
  }
  CHECK(total == x.rows);
}

TEST_CASE("metrics: safety rates count harmful documents in the top k") {
  std::vector<std::vector<bool>> ranked = {
      {true, false, false, false, false, false},
      {false, false, false, false, true, true},
      {false, false, false, false, false, false},
      {false, false, false, false, false, true},
  };
  auto s = safety_scores(ranked);
  CHECK(s.harmful_at_1 == doctest::Approx(0.25));
  CHECK(s.harmful_at_5 == doctest::Approx(0.5));
  CHECK(s.harmful_at_20 == doctest::Approx(0.75));
  CHECK(s.harmful_in_top20 == doctest::Approx(1.0));
}

TEST_CASE("metrics: kNN classifier and cosine search") {
  Points train{4, 2, {1, 0, 0.9f, 0.1f, 0, 1, 0.1f, 0.9f}};
  Points test{2, 2, {1, 0.05f, 0.05f, 1}};
  CHECK(knn_predict(train, {0, 0, 1, 1}, test, 3) == std::vector<int64_t>{0, 1});
  auto hits = top_k_cosine(test, train, 2);
  CHECK(hits[0][0].first == 0);
  CHECK(hits[1][0].first == 2);
  CHECK_THROWS_AS(spearman({1, 2}, {1}), Error);
}
