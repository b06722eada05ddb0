#!/usr/bin/python3
"""Reference values for tests/unit/test_metrics.cpp: fixed random inputs and what
scikit-learn / SciPy compute on them. Retrieval follows BEIR's pytrec_eval definitions
(trec_eval ndcg_cut, recip_rank cut, recall), written here from the definitions
(pytrec_eval itself is not installed), independently of the C++ code.
Prints one JSON object to stdout."""
import json
import math

import numpy as np
from scipy import stats
from sklearn import metrics

rng = np.random.default_rng(20240917)
out = {}

# STS: scores with ties (gold on a 0..5 half-point scale), cosine-like predictions.
gold = rng.integers(0, 11, size=200) / 2.0
pred = np.round(gold + rng.normal(0, 1.5, size=200), 2)
out["sts"] = {"x": pred.tolist(), "y": gold.tolist(),
              "spearman": float(stats.spearmanr(pred, gold).correlation),
              "pearson": float(stats.pearsonr(pred, gold)[0])}

# Clustering: 7 true classes, 9 predicted clusters, partially agreeing.
truth = rng.integers(0, 7, size=300)
pred_c = np.where(rng.random(300) < 0.6, truth, rng.integers(0, 9, size=300))
out["clustering"] = {"truth": truth.tolist(), "pred": pred_c.tolist(),
                     "v_measure": float(metrics.v_measure_score(truth, pred_c)),
                     "ari": float(metrics.adjusted_rand_score(truth, pred_c))}

# Classification: 5 classes, one class never predicted, one predicted but absent in truth.
truth_y = rng.integers(0, 5, size=250)
pred_y = np.where(rng.random(250) < 0.7, truth_y, rng.integers(0, 6, size=250))
pred_y[pred_y == 3] = 1
out["classification"] = {"truth": truth_y.tolist(), "pred": pred_y.tolist(),
                         "macro_f1": float(metrics.f1_score(truth_y, pred_y, average="macro", zero_division=0)),
                         "accuracy": float(metrics.accuracy_score(truth_y, pred_y))}

# Retrieval: 30 queries, 400 docs, graded qrels 1..3 (some 0 = judged non-relevant),
# run scores with ties (rounded) so the tie order matters.
queries = [f"q{i}" for i in range(30)]
docs = [f"d{j:03d}" for j in range(400)]
qrels = {}
for q in queries:
    n_rel = int(rng.integers(1, 12))
    chosen = rng.choice(400, size=n_rel, replace=False)
    qrels[q] = {docs[j]: int(rng.integers(0, 4)) for j in chosen}
    if all(v == 0 for v in qrels[q].values()):
        qrels[q][docs[int(chosen[0])]] = 2
run = {}
for q in queries:
    scores = np.round(rng.random(400), 2)
    for d, r in qrels[q].items():
        scores[docs.index(d)] = min(1.0, scores[docs.index(d)] + 0.15 * r)
    scores = np.round(scores, 2)
    run[q] = {docs[j]: float(scores[j]) for j in range(400) if scores[j] > 0.05}


def ranked(q):
    # trec_eval's order: score descending, then docno descending.
    return [d for d, _ in sorted(run[q].items(), key=lambda kv: (-kv[1], _neg(kv[0])))]


def _neg(s):
    return tuple(-ord(c) for c in s) + (0,)


def ndcg(q, k):
    rel = qrels[q]
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked(q)[:k]))
    ideal = sorted((r for r in rel.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def mrr(q, k):
    for i, d in enumerate(ranked(q)[:k]):
        if qrels[q].get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def recall(q, k):
    relevant = [d for d, r in qrels[q].items() if r > 0]
    top = set(ranked(q)[:k])
    return sum(d in top for d in relevant) / len(relevant)


out["retrieval"] = {"qrels": qrels, "run": run,
                    "ndcg_at_10": float(np.mean([ndcg(q, 10) for q in queries])),
                    "mrr_at_10": float(np.mean([mrr(q, 10) for q in queries])),
                    "recall_at_100": float(np.mean([recall(q, 100) for q in queries]))}

# Logistic regression (predictions compared, not scores: two LBFGS runs stop at slightly
# different points) and k-means on separable blobs.
from sklearn.linear_model import LogisticRegression
from sklearn.datasets import make_blobs, make_classification
X, y = make_classification(n_samples=400, n_features=12, n_informative=6, n_classes=4, random_state=3)
clf = LogisticRegression(max_iter=1000, C=1.0).fit(X[:300], y[:300])
out["logreg"] = {"train": X[:300].tolist(), "train_y": y[:300].tolist(), "test": X[300:].tolist(),
                 "test_y": y[300:].tolist(), "pred": clf.predict(X[300:]).tolist()}
Xb, yb = make_blobs(n_samples=240, centers=4, n_features=6, cluster_std=0.8, random_state=5)
from sklearn.cluster import KMeans
km = KMeans(n_clusters=4, n_init=10, random_state=0).fit(Xb)
out["kmeans"] = {"x": Xb.tolist(), "y": yb.tolist(), "inertia": float(km.inertia_),
                 "ari": float(metrics.adjusted_rand_score(yb, km.labels_))}
# Silhouette on the blobs with a deliberately imperfect labelling (and a singleton
# cluster, whose silhouette is 0 by definition), and the 2-D map regions' k choice.
sil_labels = km.labels_.copy()
sil_labels[:20] = (sil_labels[:20] + 1) % 4
sil_labels[20] = 4
X2, y2 = make_blobs(n_samples=300, centers=5, n_features=2, cluster_std=0.5, random_state=11)
out["silhouette"] = {"labels": sil_labels.tolist(), "score": float(metrics.silhouette_score(Xb, sil_labels)),
                     "x2": X2.tolist(), "y2": y2.tolist()}
print(json.dumps(out))
