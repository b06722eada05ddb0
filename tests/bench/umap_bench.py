#!/usr/bin/python3
"""Baseline side of `genlens bench umap`: umap-learn's fit time on the same data.

  umap_bench.py X.npy OUT.npy METRIC K SEED

numba compiles umap-learn's kernels on first use; a fit on a small random set first keeps
that compile out of the timed fit. Two timed fits: seeded (random_state=SEED, which
umap-learn runs single-threaded, deterministic like genlens) -> OUT.npy, and unseeded
(parallel, NUMBA_NUM_THREADS threads). Prints one JSON line.
"""
import json
import sys
import time
import warnings

import numpy as np
import umap

warnings.filterwarnings("ignore")
x = np.load(sys.argv[1])
metric, k, seed = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
warm = np.random.default_rng(1).normal(size=(300, x.shape[1])).astype(np.float32)
umap.UMAP(n_neighbors=k, metric=metric, random_state=seed).fit_transform(warm)
umap.UMAP(n_neighbors=k, metric=metric).fit_transform(warm)

t0, c0 = time.time(), time.process_time()
y = umap.UMAP(n_neighbors=k, min_dist=0.1, metric=metric, random_state=seed).fit_transform(x)
seeded, seeded_cpu = time.time() - t0, time.process_time() - c0
np.save(sys.argv[2], y.astype(np.float32))
t0 = time.time()
umap.UMAP(n_neighbors=k, min_dist=0.1, metric=metric).fit_transform(x)
parallel = time.time() - t0
print(json.dumps({"seconds": seeded, "cpu_seconds": seeded_cpu, "parallel_seconds": parallel, "version": umap.__version__}))
