#!/usr/bin/python3
"""Python peer baseline for `genlens bench`.

`genlens bench CASE ... --vs-python` runs this script on the same checkpoint directory and
the same synthetic batch, reads the one JSON line it prints, and reports genlens/Python
speed ratios. The work is done the way the official llm2vec-gen release does it: a
HuggingFace causal LM (frozen, no PEFT), special-token embeddings appended after the
query, the last `compression` final-normed states C, soft prompts S = recon_head(C),
embedding = mean over positions of align_head(S), recon loss = CE of the frozen LM over
the target tokens given [S][embed(target)], align loss = MSE(embedding, teacher).

The model is `transformers.AutoModelForCausalLM` where transformers is importable
(impl "hf-transformers"); otherwise (Debian's /usr/bin/python3 with python3-torch, CI) a
plain-PyTorch eager model written below, batched and structured like HF's Llama/Qwen3
modeling code (impl "python-eager"). Weights are read with tests/reference/decoder_lm_ref.py.

  /usr/bin/python3 tests/bench/peer.py --model DIR --case encode-mean|encode-generative|train|generate
      [--batch 8] [--query-len 64] [--response-len 64] [--thought 10] [--compression 10] [--steps 5]
      [--new-tokens 32] [--threads N] [--dtype f32|bf16] [--device cpu|cuda] [--impl auto|eager|hf]
  /usr/bin/python3 tests/bench/peer.py --model DIR --self-check   (eager model vs decoder_lm_ref.forward)

Threads: --threads sets torch's intra-op pool; OpenBLAS (Debian's torch multiplies with it)
reads OPENBLAS_NUM_THREADS when torch is imported, so genlens sets that variable to the same
count when it runs this script.

Inputs (identical in genlens): row i, query token j: 10 + (i*131 + j*17) % (V-10); target
tokens j < R-1: 10 + (i*71 + j*29) % (V-10), then EOS id 2. One warm-up repetition, then
--steps timed ones; one JSON object on stdout, everything else on stderr.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import decoder_lm_ref as ref  # noqa: E402
from decoder_lm_ref import inv_freq_for, load_weights, rms_norm, rotate_half  # noqa: E402

TORCH2 = int(torch.__version__.split(".")[0]) >= 2


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class EagerLM:
    """Batched decoder in the shape of HF's modeling_llama / modeling_qwen3 (eager or sdpa)."""
    impl = "python-eager"

    def __init__(self, cfg, W, dtype, device):
        self.cfg, self.dtype, self.device = cfg, dtype, device
        self.W = {k: v.to(device=device, dtype=dtype) for k, v in W.items()}
        mt = self.mt = cfg["model_type"]
        self.H, self.L = cfg["hidden_size"], cfg["num_hidden_layers"]
        self.nh = cfg["num_attention_heads"]
        self.nkv = cfg.get("num_key_value_heads", self.nh)
        self.hd = cfg.get("head_dim") or self.H // self.nh
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        self.qkv_bias = mt == "qwen2" or (mt in ("llama", "qwen3") and cfg.get("attention_bias", False))
        self.o_bias = mt in ("llama", "qwen3") and cfg.get("attention_bias", False)
        self.mlp_bias = mt == "llama" and cfg.get("mlp_bias", False)
        self.window = cfg.get("sliding_window") if mt == "mistral" else None
        self.inv_freq = inv_freq_for(cfg, self.hd).to(device)
        self.head = self.W["model.embed_tokens.weight" if cfg.get("tie_word_embeddings") else "lm_head.weight"]

    def lin(self, x, name, bias):
        return F.linear(x, self.W[name + ".weight"], self.W[name + ".bias"] if bias else None)

    def embed(self, ids):
        return F.embedding(ids, self.W["model.embed_tokens.weight"])

    def logits(self, h):
        return h @ self.head.T

    def hidden(self, x, mask, cache=None):
        """x [B,T,H] input embeddings, mask [B,past+T] (1 = real token, 0 = left pad); cache:
        None, or a list of per-layer (k, v) [B,nkv,S,hd] extended in place. -> final-normed [B,T,H]."""
        B, T, _ = x.shape
        past = cache[0][0].shape[2] if cache else 0
        pos = (mask.long().cumsum(-1) - 1).clamp(min=0)[:, past:]  # position_ids as HF's generate
        freqs = pos[:, :, None].float() * self.inv_freq  # RoPE computed in fp32, cast to dtype
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(self.dtype)[:, None], emb.sin().to(self.dtype)[:, None]
        qi = torch.arange(past, past + T, device=x.device)[:, None]
        ki = torch.arange(past + T, device=x.device)[None, :]
        ok = (ki <= qi)[None, None] & mask.bool()[:, None, None, :]  # causal + padding, [B,1,T,S]
        if self.window:
            ok = ok & (qi - ki < self.window)
        bias = torch.zeros(ok.shape, dtype=self.dtype, device=x.device).masked_fill(~ok, torch.finfo(self.dtype).min)
        rep, h = self.nh // self.nkv, x
        for l in range(self.L):
            p = f"model.layers.{l}."
            a = rms_norm(h, self.W[p + "input_layernorm.weight"], self.eps)
            q = self.lin(a, p + "self_attn.q_proj", self.qkv_bias).view(B, T, self.nh, self.hd)
            k = self.lin(a, p + "self_attn.k_proj", self.qkv_bias).view(B, T, self.nkv, self.hd)
            v = self.lin(a, p + "self_attn.v_proj", self.qkv_bias).view(B, T, self.nkv, self.hd)
            if self.mt == "qwen3":
                q = rms_norm(q, self.W[p + "self_attn.q_norm.weight"], self.eps)
                k = rms_norm(k, self.W[p + "self_attn.k_norm.weight"], self.eps)
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if cache is not None:
                if len(cache) > l:
                    k, v = torch.cat((cache[l][0], k), 2), torch.cat((cache[l][1], v), 2)
                    cache[l] = (k, v)
                else:
                    cache.append((k, v))
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)  # HF repeat_kv
            if TORCH2:
                o = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
            else:
                s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + bias
                o = torch.softmax(s, dim=-1, dtype=torch.float32).to(self.dtype) @ v
            h = h + self.lin(o.transpose(1, 2).reshape(B, T, self.nh * self.hd), p + "self_attn.o_proj", self.o_bias)
            a = rms_norm(h, self.W[p + "post_attention_layernorm.weight"], self.eps)
            m = F.silu(self.lin(a, p + "mlp.gate_proj", self.mlp_bias)) * self.lin(a, p + "mlp.up_proj", self.mlp_bias)
            h = h + self.lin(m, p + "mlp.down_proj", self.mlp_bias)
        return rms_norm(h, self.W["model.norm.weight"], self.eps)

    def generate(self, ids, mask, n):
        """Greedy decoding with a KV cache: prefill, then one token at a time, exactly n tokens."""
        cache, out = [], []
        h = self.hidden(self.embed(ids), mask, cache)
        for i in range(n):
            tok = self.logits(h[:, -1]).argmax(-1)
            out.append(tok)
            if i + 1 < n:
                mask = torch.cat((mask, mask.new_ones(mask.shape[0], 1)), 1)
                h = self.hidden(self.embed(tok[:, None]), mask, cache)
        return torch.stack(out, 1)


class HFLM:
    impl = "hf-transformers"

    def __init__(self, model_dir, dtype, device):
        from transformers import AutoModelForCausalLM
        self.m = AutoModelForCausalLM.from_pretrained(
            model_dir, torch_dtype=dtype, attn_implementation="sdpa" if TORCH2 else "eager").to(device).eval()
        self.m.requires_grad_(False)

    def embed(self, ids):
        return self.m.get_input_embeddings()(ids)

    def logits(self, h):
        return self.m.lm_head(h)

    def hidden(self, x, mask, cache=None):
        return self.m.model(inputs_embeds=x, attention_mask=mask, use_cache=False).last_hidden_state

    def generate(self, ids, mask, n):
        out = self.m.generate(input_ids=ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n,
                              do_sample=False, pad_token_id=0)
        return out[:, ids.shape[1]:]


def query_ids(r0, B, Q, V):
    i, j = torch.arange(r0, r0 + B)[:, None], torch.arange(Q)[None, :]
    return 10 + (i * 131 + j * 17) % (V - 10)


def target_ids(r0, B, R, V):
    i, j = torch.arange(r0, r0 + B)[:, None], torch.arange(R - 1)[None, :]
    return torch.cat((10 + (i * 71 + j * 29) % (V - 10), torch.full((B, 1), 2)), 1)


def self_check(a, cfg, W):
    V, Q, n = cfg["vocab_size"], a.query_len, 4
    lm = EagerLM(cfg, W, torch.float32, "cpu")
    ids = query_ids(0, 1, Q, V)[0]
    with torch.no_grad():
        want = ref.forward(cfg, W, ids.tolist(), torch.float32)[0]
        got = lm.logits(lm.hidden(lm.embed(ids[None]), torch.ones(1, Q)))[0]
        d = (got - want).abs().max().item()
        # left padding: a batch of [ids, pad pad pad ids[:-3]] must give the unpadded logits
        batch = torch.stack((ids, torch.cat((torch.zeros(3, dtype=ids.dtype), ids[:-3]))))
        mask = torch.ones(2, Q)
        mask[1, :3] = 0
        got2 = lm.logits(lm.hidden(lm.embed(batch), mask))
        want2 = ref.forward(cfg, W, ids[:-3].tolist(), torch.float32)[0]
        dpad = max((got2[0] - want).abs().max().item(), (got2[1, 3:] - want2).abs().max().item())
        # KV-cache greedy decoding vs recomputing the whole sequence each token
        toks = lm.generate(batch, mask, n)
        seq, m = batch, mask
        for i in range(n):
            nxt = lm.logits(lm.hidden(lm.embed(seq), m))[:, -1].argmax(-1)
            seq, m = torch.cat((seq, nxt[:, None]), 1), torch.cat((m, torch.ones(2, 1)), 1)
        cache_ok = torch.equal(toks, seq[:, Q:])
    log(f"self-check {cfg['model_type']}: max|eager - decoder_lm_ref| = {d:.3g}, left-padded batch {dpad:.3g}, "
        f"kv-cache greedy == recompute: {cache_ok}")
    print(json.dumps({"self_check_max_abs_diff": d, "padded_max_abs_diff": dpad, "kv_cache_ok": cache_ok}))
    sys.exit(0 if max(d, dpad) <= 1e-4 and cache_ok else 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--case", choices=["encode-mean", "encode-generative", "train", "generate"])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--query-len", type=int, default=64)
    ap.add_argument("--response-len", type=int, default=64)
    ap.add_argument("--thought", type=int, default=10)
    ap.add_argument("--compression", type=int, default=10)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--impl", default="auto", choices=["auto", "eager", "hf"])
    ap.add_argument("--self-check", action="store_true")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    with open(os.path.join(a.model, "config.json")) as f:
        cfg = json.load(f)
    if a.self_check:
        self_check(a, cfg, {k: v.float() for k, v in load_weights(a.model).items()})
    if not a.case:
        ap.error("--case is required")
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[a.dtype]
    dev = a.device
    try:
        if a.impl == "eager":
            raise ImportError
        lm = HFLM(a.model, dtype, dev)
    except ImportError:
        if a.impl == "hf":
            raise
        lm = EagerLM(cfg, load_weights(a.model), dtype, dev)
    log(f"peer: {lm.impl}, torch {torch.__version__}, {torch.get_num_threads()} threads, {a.case}")

    B, Q, R, H, V = a.batch, a.query_len, a.response_len, cfg["hidden_size"], cfg["vocab_size"]
    K, N = a.compression, a.thought + a.compression
    torch.manual_seed(0)
    special = torch.nn.Parameter((torch.randn(N, H) * 0.02).to(dev, dtype))
    recon, align = torch.nn.Linear(H, H).to(dev, dtype), torch.nn.Linear(H, H).to(dev, dtype)
    teacher = (torch.randn(B, H) * 0.1).to(dev, dtype)
    ones = lambda b, t: torch.ones(b, t, dtype=torch.long, device=dev)  # noqa: E731
    q0 = query_ids(0, B, Q, V).to(dev)

    def encode(q, grad):
        with torch.set_grad_enabled(grad):
            x = torch.cat((lm.embed(q), special.expand(q.shape[0], -1, -1)), 1)
            S = recon(lm.hidden(x, ones(q.shape[0], Q + N))[:, -K:])
            return S, align(S).mean(1)

    if a.case == "encode-mean":
        def rep(r):
            with torch.no_grad():
                return lm.hidden(lm.embed(q0), ones(B, Q)).mean(1)  # all rows full: mean over real tokens
        tokens = B * Q
    elif a.case == "encode-generative":
        rep, tokens = (lambda r: encode(q0, False)[1]), B * (Q + N)
    elif a.case == "generate":
        rep, tokens = (lambda r: lm.generate(q0, ones(B, Q), a.new_tokens)), B * a.new_tokens
    else:
        params = [special, *recon.parameters(), *align.parameters()]
        opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.0)
        tokens = B * (Q + N) + B * (K + R)

        def rep(r):
            q, t = query_ids(r * B, B, Q, V).to(dev), target_ids(r * B, B, R, V).to(dev)
            S, emb = encode(q, True)
            logits = lm.logits(lm.hidden(torch.cat((S, lm.embed(t)), 1), ones(B, K + R))).float()
            rec = F.cross_entropy(logits[:, K - 1:-1].reshape(-1, V), t.reshape(-1))  # last S predicts t[0]
            ali = F.mse_loss(emb.float(), teacher.float())
            loss = rec + ali
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad()
            log(f"step {r}: loss {loss.item():.6f} (recon {rec.item():.6f}, align {ali.item():.6f})")
            if not math.isfinite(loss.item()):
                raise SystemExit("peer: non-finite loss")

    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    rep(0)  # warm-up
    lat = []
    for r in range(1, a.steps + 1):
        sync()
        t0 = time.perf_counter()
        rep(r)
        sync()
        lat.append(time.perf_counter() - t0)
    total = sum(lat)
    bench, case = {"encode-mean": ("encode", "mean"), "encode-generative": ("encode", "generative"),
                   "train": ("train", "step"), "generate": ("generate", "greedy")}[a.case]
    print(json.dumps({
        "bench": bench, "case": case, "impl": lm.impl, "model": os.path.basename(os.path.normpath(a.model)),
        "hidden": H, "layers": cfg["num_hidden_layers"], "heads": cfg["num_attention_heads"],
        "kv_heads": cfg.get("num_key_value_heads", cfg["num_attention_heads"]),
        "intermediate": cfg["intermediate_size"], "vocab": V, "dtype": str(dtype).replace("torch.", ""),
        "device": dev, "threads": torch.get_num_threads(), "batch": B, "query_len": Q,
        "response_len": R if a.case == "train" else None,
        "new_tokens": a.new_tokens if a.case == "generate" else None,
        "items_per_s": B * len(lat) / total, "tokens_per_s": tokens * len(lat) / total,
        "latency_ms": {"p50": float(np.percentile(lat, 50)) * 1e3, "p95": float(np.percentile(lat, 95)) * 1e3},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cuda_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if dev == "cuda" else None,
        "torch": torch.__version__}))


if __name__ == "__main__":
    main()
