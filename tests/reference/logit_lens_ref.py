#!/usr/bin/env python3
"""Independent reference for genlens' logit lens.

Reads the per-layer hidden states that `genlens forward --hidden-states DIR` wrote
(hidden_00.npy = embeddings output ... hidden_NN.npy = last layer output, before the
final norm) and the model's own weights, and applies the usual logit lens in float64
NumPy: final RMSNorm (x / sqrt(mean(x^2) + eps) * w), LM head (lm_head.weight, or the
embedding matrix when tie_word_embeddings), softmax. Writes JSON:

  {"layers": [{"layer": l, "cells": [{"position": p, "entropy": H, "top_ids": [...],
                                      "top_probs": [...]}, ...]}, ...]}

Run with Debian's /usr/bin/python3 (python3-numpy; safetensors parsed by decoder_lm_ref).
"""
import argparse
import glob
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decoder_lm_ref import load_weights  # noqa: E402  (safetensors parsed with struct/numpy)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--hidden-dir", required=True)
    ap.add_argument("--positions", required=True, help="comma-separated row indices")
    ap.add_argument("--top-k", type=int, default=5)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(os.path.join(a.model, "config.json")) as f:
        cfg = json.load(f)
    W = load_weights(a.model)
    eps = cfg.get("rms_norm_eps", 1e-6)
    norm_w = W["model.norm.weight"].numpy().astype(np.float64)
    head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else W["lm_head.weight"]
    head = head.numpy().astype(np.float64)
    positions = [int(p) for p in a.positions.split(",")]
    out = {"layers": []}
    for path in sorted(glob.glob(os.path.join(a.hidden_dir, "hidden_*.npy"))):
        layer = int(os.path.basename(path)[7:9])
        h = np.load(path).astype(np.float64)[positions]
        x = h / np.sqrt(np.mean(h * h, axis=-1, keepdims=True) + eps) * norm_w
        logits = x @ head.T
        logits -= logits.max(axis=-1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        p = np.exp(logp)
        cells = []
        for r, pos in enumerate(positions):
            order = np.argsort(-p[r], kind="stable")[: a.top_k]
            cells.append({"position": pos, "entropy": float(-(p[r] * logp[r]).sum()),
                          "top_ids": [int(i) for i in order], "top_probs": [float(p[r][i]) for i in order]})
        out["layers"].append({"layer": layer, "cells": cells})
    with open(a.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
