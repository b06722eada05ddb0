#!/usr/bin/python3
"""Reference side of tests/unit/test_projection.cpp and `scripts/bench_umap.py`.

  umap_ref.py data digits OUT.npy LABELS.npy      scikit-learn's digits (float32)
  umap_ref.py data blobs N D OUT.npy LABELS.npy   labelled synthetic set: 20 classes, each a
                                                 10-d Gaussian on its own random subspace
                                                 of R^D, class centres along a curve
  umap_ref.py umap X.npy OUT.npy METRIC K SEED    umap-learn's 2-D layout (prints seconds)
  umap_ref.py transform FIT.npy NEW.npy OUTDIR METRIC K SEED
                                                 umap-learn's fit on FIT (OUTDIR/fit.npy) and
                                                 its transform of NEW with transform_seed
                                                 0, 1, 2 (OUTDIR/new-0.npy ...)
  umap_ref.py trust X.npy Y.npy [K]              sklearn.manifold.trustworthiness
  umap_ref.py pca X.npy DIMS                      NumPy SVD: coords and explained variance
"""
import json
import sys
import time

import numpy as np

cmd = sys.argv[1]
if cmd == "data":
    if sys.argv[2] == "digits":
        from sklearn.datasets import load_digits
        d = load_digits()
        np.save(sys.argv[3], d.data.astype(np.float32))
        np.save(sys.argv[4], d.target.astype(np.int64))
    else:
        n, dim = int(sys.argv[3]), int(sys.argv[4])
        rng = np.random.default_rng(0)
        classes = 20
        t = np.linspace(0, 3 * np.pi, classes)
        curve = np.stack([np.cos(t), np.sin(t), t / 3], 1) @ rng.normal(size=(3, dim)) * 2.0
        labels = rng.integers(0, classes, size=n)
        x = np.empty((n, dim), np.float32)
        for c in range(classes):
            idx = np.where(labels == c)[0]
            basis = rng.normal(size=(10, dim)) / np.sqrt(dim) * 3.0
            x[idx] = curve[c] + rng.normal(size=(len(idx), 10)) @ basis + rng.normal(0, 0.05, (len(idx), dim))
        np.save(sys.argv[5], x)
        np.save(sys.argv[6], labels.astype(np.int64))
elif cmd == "umap":
    import umap
    x = np.load(sys.argv[2])
    t0 = time.time()
    y = umap.UMAP(n_neighbors=int(sys.argv[5]), min_dist=0.1, metric=sys.argv[4],
                  random_state=int(sys.argv[6])).fit_transform(x)
    print(json.dumps({"seconds": time.time() - t0}))
    np.save(sys.argv[3], y.astype(np.float32))
elif cmd == "transform":
    import umap
    import os
    fit = umap.UMAP(n_neighbors=int(sys.argv[6]), min_dist=0.1, metric=sys.argv[5],
                    random_state=int(sys.argv[7])).fit(np.load(sys.argv[2]))
    np.save(os.path.join(sys.argv[4], "fit.npy"), fit.embedding_.astype(np.float32))
    for ts in range(3):
        fit.transform_seed = ts
        np.save(os.path.join(sys.argv[4], f"new-{ts}.npy"), fit.transform(np.load(sys.argv[3])).astype(np.float32))
    print(json.dumps({"ok": True}))
elif cmd == "trust":
    from sklearn.manifold import trustworthiness
    k = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    print(json.dumps({"trustworthiness": float(trustworthiness(np.load(sys.argv[2]), np.load(sys.argv[3]), n_neighbors=k))}))
elif cmd == "pca":
    x = np.load(sys.argv[2]).astype(np.float64)
    k = int(sys.argv[3])
    xc = x - x.mean(0)
    u, s, vt = np.linalg.svd(xc, full_matrices=False)
    var = s ** 2 / (len(x) - 1)
    print(json.dumps({"coords": (u[:, :k] * s[:k]).tolist(), "explained_variance": var[:k].tolist(),
                      "ratio": (var[:k] / var.sum()).tolist()}))
