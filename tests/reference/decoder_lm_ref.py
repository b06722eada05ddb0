#!/usr/bin/env python3
"""Independent reference for genlens' DecoderLM (Llama / Qwen2 / Qwen3 / Mistral).

Written from the published architectures in plain PyTorch + NumPy (no transformers,
no genlens code): reads config.json and the safetensors weights of an HF model
directory (the safetensors format is parsed here with struct/json/numpy), runs one
sequence of token ids through the decoder, and writes

  --out LOGITS.npy          float32 [T, V] logits
  --out-f64 PATH            the same logits computed in float64 (rounding-error yardstick)
  --weights-dtype bf16      round the file's weights to bf16 first (as a model converted on
                            load), so --out-f64 is float64 from the same rounded weights
  --hidden-dir DIR          hidden_00.npy (embeddings) ... hidden_NN.npy (layer N output,
                            before the final norm), float32 [T, H]
  --hidden-dir-f64 DIR      the same hidden states from the float64 forward

Run with Debian's /usr/bin/python3 (python3-torch, python3-numpy). GENLENS_TEST_MKLDNN=0
turns mkldnn off, as tests/test_main.cpp does (bf16 matmuls then take ATen's native gemm,
as on a CPU without AVX-512; tests/numeric_ref.h).
"""
import argparse
import json
import math
import os
import struct

import numpy as np
import torch

if os.environ.get("GENLENS_TEST_MKLDNN") == "0":
    torch.backends.mkldnn.enabled = False


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[base + b: base + e]
        dt = info["dtype"]
        if dt == "F32":
            arr = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif dt == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dt == "BF16":  # bf16 is the top half of an fp32
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit(f"{path}: tensor {name}: dtype {dt} not handled by the reference")
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out


def load_weights(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    weights = {}
    for fname in files:
        weights.update(read_safetensors(os.path.join(model_dir, fname)))
    return weights


def rms_norm(x, w, eps):
    h = x.to(torch.float32)
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return w * h.to(x.dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def inv_freq_for(cfg, head_dim):
    theta = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    if kind == "linear":
        inv = inv / rs["factor"]
    elif kind == "llama3":
        # Llama 3.1: long wavelengths slowed by `factor`, short ones kept, a smooth
        # interpolation between the two wavelength bands.
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wl, high_wl = old / lo, old / hi
        out = []
        for f in inv.tolist():
            wl = 2 * math.pi / f
            if wl < high_wl:
                out.append(f)
            elif wl > low_wl:
                out.append(f / factor)
            else:
                s = (old / wl - lo) / (hi - lo)
                out.append((1 - s) * f / factor + s * f)
        inv = torch.tensor(out, dtype=torch.float32)
    elif kind != "default":
        raise SystemExit(f"rope type {kind} not handled by the reference")
    return inv


def forward(cfg, W, ids, dtype):
    mt = cfg["model_type"]
    H = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim") or H // nh
    eps = cfg.get("rms_norm_eps", 1e-6)
    L = cfg["num_hidden_layers"]
    qkv_bias = mt == "qwen2" or (mt in ("llama", "qwen3") and cfg.get("attention_bias", False))
    o_bias = mt in ("llama", "qwen3") and cfg.get("attention_bias", False)
    mlp_bias = mt == "llama" and cfg.get("mlp_bias", False)
    W = {k: v.to(dtype) for k, v in W.items()}

    def lin(x, name, bias):
        y = x @ W[name + ".weight"].T
        return y + W[name + ".bias"] if bias else y

    T = len(ids)
    h = W["model.embed_tokens.weight"][torch.tensor(ids)]
    hidden = [h]
    pos = torch.arange(T, dtype=torch.float32)
    freqs = pos[:, None] * inv_freq_for(cfg, hd)[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().to(dtype), emb.sin().to(dtype)
    causal = torch.full((T, T), float("-inf")).triu(1)
    window = cfg.get("sliding_window") if mt == "mistral" else None
    if window:
        i = torch.arange(T)
        causal = causal.masked_fill(i[:, None] - i[None, :] >= window, float("-inf"))
    for l in range(L):
        p = f"model.layers.{l}."
        x = rms_norm(h, W[p + "input_layernorm.weight"], eps)
        q = lin(x, p + "self_attn.q_proj", qkv_bias).view(T, nh, hd)
        k = lin(x, p + "self_attn.k_proj", qkv_bias).view(T, nkv, hd)
        v = lin(x, p + "self_attn.v_proj", qkv_bias).view(T, nkv, hd)
        if mt == "qwen3":
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)  # [heads, T, hd]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=0)
        v = v.repeat_interleave(nh // nkv, dim=0)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + causal.to(q.dtype)
        a = torch.softmax(scores.float(), dim=-1).to(dtype) @ v
        a = a.transpose(0, 1).reshape(T, nh * hd)
        h = h + lin(a, p + "self_attn.o_proj", o_bias)
        x = rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)
        m = torch.nn.functional.silu(lin(x, p + "mlp.gate_proj", mlp_bias)) * lin(x, p + "mlp.up_proj", mlp_bias)
        h = h + lin(m, p + "mlp.down_proj", mlp_bias)
        hidden.append(h)
    h = rms_norm(h, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else W["lm_head.weight"]
    return h @ head.T, hidden


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True, help="comma-separated token ids")
    ap.add_argument("--out", required=True)
    ap.add_argument("--hidden-dir")
    ap.add_argument("--dtype", default="f32", choices=["f32", "f64", "bf16"])
    ap.add_argument("--out-f64", help="also write the logits computed in float64 here")
    ap.add_argument("--weights-dtype", choices=["bf16"], help="round the weights to this dtype first")
    ap.add_argument("--hidden-dir-f64", help="also write the float64 forward's hidden states here")
    args = ap.parse_args()
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    dtype = {"f32": torch.float32, "f64": torch.float64, "bf16": torch.bfloat16}[args.dtype]
    ids = [int(s) for s in args.ids.replace(" ", ",").split(",") if s]
    weights = load_weights(args.model)
    if args.weights_dtype == "bf16":
        weights = {k: v.to(torch.bfloat16).float() for k, v in weights.items()}
    with torch.no_grad():
        logits, hidden = forward(cfg, weights, ids, dtype)
        if args.out_f64 or args.hidden_dir_f64:
            logits64, hidden64 = forward(cfg, weights, ids, torch.float64)
            if args.out_f64:
                np.save(args.out_f64, logits64.float().numpy())
            if args.hidden_dir_f64:
                os.makedirs(args.hidden_dir_f64, exist_ok=True)
                for i, h in enumerate(hidden64):
                    np.save(os.path.join(args.hidden_dir_f64, f"hidden_{i:02d}.npy"), h.numpy())
    np.save(args.out, logits.float().numpy())
    if args.hidden_dir:
        os.makedirs(args.hidden_dir, exist_ok=True)
        for i, h in enumerate(hidden):
            np.save(os.path.join(args.hidden_dir, f"hidden_{i:02d}.npy"), h.float().numpy())
    print(f"reference: {cfg['model_type']} T={len(ids)} V={logits.shape[-1]} -> {args.out}")


if __name__ == "__main__":
    main()
