#!/usr/bin/env python3
"""Independent reference for the tuned lens's loss (genlens core/analysis/tuned_lens.h), in
plain PyTorch float64 (Debian's python3-torch; no genlens code): for each layer l, the mean
over rows of KL(p_L || p_l), p_L = softmax(head(norm(x_L))), p_l = softmax(head(norm(T_l(x_l)))),
T_l(h) = h + W_l h + b_l from translators.safetensors.

  tuned_lens_ref.py MODEL_DIR LENS_DIR STATES_PREFIX N_LAYERS   (reads STATES_PREFIX<l>.npy, l = 0..L)

Prints a JSON list of the L per-layer KLs (logit lens when LENS_DIR is "-")."""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decoder_lm_ref import load_weights, read_safetensors  # noqa: E402


def main():
    model_dir, lens_dir, prefix, L = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    W = load_weights(model_dir)
    head = (W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else W["lm_head.weight"]).double()
    norm_w = W["model.norm.weight"].double()
    eps = cfg.get("rms_norm_eps", 1e-6)

    def logp(x):
        h = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * norm_w
        return torch.log_softmax(h @ head.T, dim=-1)

    T = read_safetensors(os.path.join(lens_dir, "translators.safetensors")) if lens_dir != "-" else None
    states = [torch.from_numpy(np.load(f"{prefix}{l}.npy")).double() for l in range(L + 1)]
    p = logp(states[L])
    out = []
    for l in range(L):
        x = states[l]
        if T is not None:
            x = x + x @ T[f"layers.{l}.weight"].double().T + T[f"layers.{l}.bias"].double()
        q = logp(x)
        out.append(float((p.exp() * (p - q)).sum(-1).mean()))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
