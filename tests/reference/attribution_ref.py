#!/usr/bin/env python3
"""Independent reference for `genlens attribute` (integrated gradients over the input
token embeddings of f(x) = cosine(embedding(x), target)).

Plain PyTorch + NumPy, no genlens code: the decoder is the forward of decoder_lm_ref.py
(beside this file) written again from input embeddings, with the RMSNorm computed in the
forward's own dtype so a float64 run is float64 throughout. The adapter is read from its
checkpoint directory (adapter.safetensors + genlens.json).

  embedding, generative: LLM(embeds(query) ++ special rows) -> last n_compression final
      hidden states C -> S = recon(C) -> mean over positions of align(S)
  embedding, mean: mean over the query positions of the final hidden states
  IG: midpoint rule, a_k = (k + 1/2) / steps; baseline = every query token's embedding
      replaced by --baseline-id's, or zeros (--baseline-id -1)
  target: the embedding of --target-ids, else of the query itself

Writes --out JSON {"scores", "f_input", "f_baseline"} (float64 forward), and with
--fd-alpha A also "fd": per query token i, the derivative of f at x' + A (x - x') along
token i's (x_i - x'_i), by a central difference in float64 (step --fd-h) and by float64
autograd, and "fd_random": the same along one random direction over all tokens
(seed 0), whose values are in "fd_random_direction" (flattened [L, H]).

Run with Debian's /usr/bin/python3.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decoder_lm_ref import inv_freq_for, load_weights, read_safetensors, rotate_half  # noqa: E402


def rms_norm(x, w, eps):
    h = x if x.dtype == torch.float64 else x.to(torch.float32)
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return w * h.to(x.dtype)


def last_hidden(cfg, W, h):
    """h [B, T, H] input embeddings -> final-normed hidden states [B, T, H] (causal, no padding)."""
    mt = cfg["model_type"]
    Hs = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim") or Hs // nh
    eps = cfg.get("rms_norm_eps", 1e-6)
    qkv_bias = mt == "qwen2" or (mt in ("llama", "qwen3") and cfg.get("attention_bias", False))
    o_bias = mt in ("llama", "qwen3") and cfg.get("attention_bias", False)
    mlp_bias = mt == "llama" and cfg.get("mlp_bias", False)
    dtype = h.dtype

    def lin(x, name, bias):
        y = x @ W[name + ".weight"].T
        return y + W[name + ".bias"] if bias else y

    B, T, _ = h.shape
    freqs = torch.arange(T, dtype=torch.float32)[:, None] * inv_freq_for(cfg, hd)[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().to(dtype), emb.sin().to(dtype)
    causal = torch.full((T, T), float("-inf")).triu(1).to(dtype)
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        x = rms_norm(h, W[p + "input_layernorm.weight"], eps)
        q = lin(x, p + "self_attn.q_proj", qkv_bias).view(B, T, nh, hd)
        k = lin(x, p + "self_attn.k_proj", qkv_bias).view(B, T, nkv, hd)
        v = lin(x, p + "self_attn.v_proj", qkv_bias).view(B, T, nkv, hd)
        if mt == "qwen3":
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, heads, T, hd]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + causal
        a = torch.softmax(scores, dim=-1) @ v
        a = a.transpose(1, 2).reshape(B, T, nh * hd)
        h = h + lin(a, p + "self_attn.o_proj", o_bias)
        x = rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)
        m = torch.nn.functional.silu(lin(x, p + "mlp.gate_proj", mlp_bias)) * lin(x, p + "mlp.up_proj", mlp_bias)
        h = h + lin(m, p + "mlp.down_proj", mlp_bias)
    return rms_norm(h, W["model.norm.weight"], eps)


class Embedder:
    def __init__(self, cfg, W, adapter, n_compression, mode):
        self.cfg, self.W, self.A, self.nc, self.mode = cfg, W, adapter, n_compression, mode

    def __call__(self, x):
        """x [B, L, H] query input embeddings -> [B, D]."""
        if self.mode == "mean":
            return last_hidden(self.cfg, self.W, x).mean(1)
        A = self.A
        special = A["special_tokens.weight"].unsqueeze(0).expand(x.shape[0], -1, -1)
        h = last_hidden(self.cfg, self.W, torch.cat([x, special], 1))
        C = h[:, -self.nc:, :]
        S = C @ A["recon_head.weight"].T + A["recon_head.bias"]
        return (S @ A["align_head.weight"].T + A["align_head.bias"]).mean(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--adapter")
    ap.add_argument("--mode", choices=["generative", "mean"], required=True)
    ap.add_argument("--ids", required=True, help="comma-separated query token ids")
    ap.add_argument("--target-ids", help="comma-separated ids of the target text (default: the query)")
    ap.add_argument("--baseline-id", type=int, required=True, help="neutral token id; -1 = zeros")
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--fd-alpha", type=float)
    ap.add_argument("--fd-h", type=float, default=1e-4)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    dt = torch.float64
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    W = {k: v.to(dt) for k, v in load_weights(args.model).items()}
    A, nc = None, 0
    if args.mode == "generative":
        A = {k: v.to(dt) for k, v in read_safetensors(os.path.join(args.adapter, "adapter.safetensors")).items()}
        with open(os.path.join(args.adapter, "genlens.json")) as f:
            nc = json.load(f)["n_compression"]
    emb = Embedder(cfg, W, A, nc, args.mode)
    E = W["model.embed_tokens.weight"]

    def parse(s):
        return [int(t) for t in s.replace(" ", ",").split(",") if t]

    ids = parse(args.ids)
    x = E[torch.tensor(ids)]
    base = torch.zeros_like(x) if args.baseline_id < 0 else E[torch.tensor([args.baseline_id] * len(ids))]
    with torch.no_grad():
        tgt_ids = parse(args.target_ids) if args.target_ids else ids
        target = emb(E[torch.tensor(tgt_ids)].unsqueeze(0))[0]

    def f(points):
        e = emb(points)
        return torch.nn.functional.cosine_similarity(e, target.unsqueeze(0).expand_as(e), dim=1)

    diff = x - base
    grad_sum = torch.zeros_like(x)
    for k in range(args.steps):
        a = (k + 0.5) / args.steps
        p = (base + a * diff).unsqueeze(0).requires_grad_(True)
        (g,) = torch.autograd.grad(f(p).sum(), p)
        grad_sum += g[0]
    scores = (diff * grad_sum).sum(1) / args.steps
    with torch.no_grad():
        fv = f(torch.stack([x, base]))
    out = {"scores": scores.tolist(), "f_input": fv[0].item(), "f_baseline": fv[1].item()}

    if args.fd_alpha is not None:
        p0 = base + args.fd_alpha * diff
        pg = p0.unsqueeze(0).clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(pg).sum(), pg)
        g = g[0]
        h = args.fd_h
        fd, ad = [], []
        with torch.no_grad():
            for i in range(len(ids)):
                d = torch.zeros_like(x)
                d[i] = diff[i]
                fd.append(((f((p0 + h * d).unsqueeze(0)) - f((p0 - h * d).unsqueeze(0))) / (2 * h)).item())
                ad.append((g * d).sum().item())
            gen = torch.Generator().manual_seed(0)
            r = torch.randn(x.shape, generator=gen, dtype=dt)
            r = r / r.norm() * diff.norm()
            out["fd_random"] = ((f((p0 + h * r).unsqueeze(0)) - f((p0 - h * r).unsqueeze(0))) / (2 * h)).item()
            out["ad_random"] = (g * r).sum().item()
            out["fd_random_direction"] = r.reshape(-1).tolist()
        out["fd"] = fd
        out["ad"] = ad
    with open(args.out, "w") as f_out:
        json.dump(out, f_out)


if __name__ == "__main__":
    main()
