#!/usr/bin/env python3
"""Independent reference for genlens' interoperability with the official LLM2Vec-Gen
release and its LLM2Vec teacher, in plain PyTorch (Debian's python3-torch; no
transformers, no peft, no genlens code). The decoder forward reuses decoder_lm_ref.py's
building blocks (RMSNorm, RoPE, weights reader) with embeddings in and an optional
bidirectional mask.

Subcommands:
  make-official  write a synthetic checkpoint in the official layout for a base model
                 (random special rows and heads; PEFT TrainableTokens file, torch.save
                 pickles, encoder_decoder_config.json, run_config.yml)
  encode         load an official-layout checkpoint the way the official loader does
                 (torch.load of the pickles, the PEFT safetensors) and embed token-id rows:
                 embedding = mean_k align(recon(h_k)) over the last K positions of
                 LLM(ids ++ special ids); --ablate-* replaces special positions in the
                 residual stream at chosen layers (zeros, or a mean over other rows)
  make-lora      write a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors)
  merge-lora     W + scale * B @ A for every LoRA module, written as float32 .npy files
  llm2vec        LLM2Vec teacher embeddings: LoRAs merged in order, bidirectional
                 attention, mean of the last hidden states over each row's tokens
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decoder_lm_ref import inv_freq_for, load_weights, read_safetensors, rms_norm, rotate_half  # noqa: E402


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = t.detach().to(torch.float32).contiguous().numpy().astype("<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def forward_embeds(cfg, W, h, causal=True, edit=None, record=None):
    """One unpadded sequence of input embeddings [T, H] -> last hidden state [T, H].
    edit(l, h) -> h replaces the residual stream entering layer l (l = L: the last layer's
    output before the final norm); record, a list, receives those L+1 streams."""
    mt = cfg["model_type"]
    H = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim") or H // nh
    eps = cfg.get("rms_norm_eps", 1e-6)
    qkv_bias = mt == "qwen2" or (mt in ("llama", "qwen3") and cfg.get("attention_bias", False))
    o_bias = mt in ("llama", "qwen3") and cfg.get("attention_bias", False)
    mlp_bias = mt == "llama" and cfg.get("mlp_bias", False)

    def lin(x, name, bias):
        y = x @ W[name + ".weight"].T
        return y + W[name + ".bias"] if bias else y

    T = h.shape[0]
    pos = torch.arange(T, dtype=torch.float32)
    freqs = pos[:, None] * inv_freq_for(cfg, hd)[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf")).triu(1) if causal else torch.zeros(T, T)
    for l in range(cfg["num_hidden_layers"] + 1):
        if edit is not None:
            h = edit(l, h)
        if record is not None:
            record.append(h)
        if l == cfg["num_hidden_layers"]:
            break
        p = f"model.layers.{l}."
        x = rms_norm(h, W[p + "input_layernorm.weight"], eps)
        q = lin(x, p + "self_attn.q_proj", qkv_bias).view(T, nh, hd)
        k = lin(x, p + "self_attn.k_proj", qkv_bias).view(T, nkv, hd)
        v = lin(x, p + "self_attn.v_proj", qkv_bias).view(T, nkv, hd)
        if mt == "qwen3":
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=0)
        v = v.repeat_interleave(nh // nkv, dim=0)
        a = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask, dim=-1) @ v
        h = h + lin(a.transpose(0, 1).reshape(T, nh * hd), p + "self_attn.o_proj", o_bias)
        x = rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)
        m = torch.nn.functional.silu(lin(x, p + "mlp.gate_proj", mlp_bias)) * lin(x, p + "mlp.up_proj", mlp_bias)
        h = h + lin(m, p + "mlp.down_proj", mlp_bias)
    return rms_norm(h, W["model.norm.weight"], eps)


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    W = {k: v.to(torch.float32) for k, v in load_weights(model_dir).items()}
    return cfg, W


# ---------------------------------------------------------------- official layout


def make_official(a):
    cfg, W = load_model(a.model)
    H, V = cfg["hidden_size"], cfg["vocab_size"]
    N = a.thought + a.compression
    g = torch.Generator().manual_seed(a.seed)
    ids = list(range(V, V + N))  # the added tokens follow the base vocabulary
    rows = torch.randn(N, H, generator=g) * 0.1
    os.makedirs(os.path.join(a.out, "encoder"), exist_ok=True)
    prefix = "base_model.model.embed_tokens."
    key = prefix + ("token_adapter.trainable_tokens_delta" if a.key_style == "token_adapter" else "trainable_tokens_delta")
    tensors = {key: rows}
    if a.full_matrix:
        # PEFT >= 0.15 also saves the resized matrix; its special rows are the untrained ones.
        full = torch.cat([W["model.embed_tokens.weight"], torch.randn(N, H, generator=g)], 0)
        tensors[prefix + "base_layer.weight"] = full
    write_safetensors(os.path.join(a.out, "encoder", "adapter_model.safetensors"), tensors)
    with open(os.path.join(a.out, "encoder", "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "TRAINABLE_TOKENS", "task_type": None, "token_indices": ids,
                   "target_modules": ["embed_tokens"], "init_weights": True,
                   "base_model_name_or_path": a.model, "inference_mode": True}, f, indent=2)
    ecfg = dict(cfg)
    ecfg.update({"num_special_tokens": N, "special_tokens_ids": ids, "special_tokens": ids})
    with open(os.path.join(a.out, "encoder", "config.json"), "w") as f:
        json.dump(ecfg, f, indent=2)
    for name, out_dim in (("reconstruction_mlp", H), ("alignment_mlp", a.teacher_dim)):
        lin = torch.nn.Linear(H, out_dim)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(out_dim, H, generator=g) * 0.2)
            lin.bias.copy_(torch.randn(out_dim, generator=g) * 0.1)
        # As ProjectionModel.save does: the module's state_dict (an OrderedDict) + config.
        state = torch.nn.ModuleDict({"projection": lin}).state_dict()
        torch.save({"state_dict": state, "config": {"input_dim": H, "output_dim": out_dim, "dtype": "torch.float32",
                                                    "size": 1, "pooling_mode": "linear"}},
                   os.path.join(a.out, name))
    with open(os.path.join(a.out, "encoder_decoder_config.json"), "w") as f:
        json.dump({"encoding_mode": f"last_{a.compression}_tokens", "save_decoder": False}, f, indent=2)
    # As the official save_args_to_yaml writes it: four argument groups appended, one
    # `key: str(value)` line each, a blank line after each group (lists are Python's repr,
    # None/True/False Python's spelling), read back with yaml.safe_load.
    groups = [{"model_name_or_path": a.model, "torch_dtype": "float32", "use_peft_for_encoder": False,
               "special_tokens": [f"<question{i + 1}>" for i in range(N)], "lora_r": None},
              {"dataset_name": "dataset", "max_seq_length": 512, "report_to": ["wandb"]},
              {"encoding_mode": f"last_{a.compression}_tokens", "recon_weight": 1.0, "align_weight": 1.0},
              {"output_dir": "outputs/run", "hub_token": "<HUB_TOKEN>", "fsdp_config": {"xla": False}}]
    for args in groups:
        with open(os.path.join(a.out, "run_config.yml"), "a") as f:
            for key, value in args.items():
                f.write(f"{key}: {value}\n")
            f.write("\n")
    print(f"wrote {a.out}: {N} special tokens, last_{a.compression}_tokens, key {key}")


def encode(a):
    cfg, W = load_model(a.model)
    ck = a.checkpoint
    with open(os.path.join(ck, "encoder", "adapter_config.json")) as f:
        acfg = json.load(f)
    assert acfg["peft_type"] == "TRAINABLE_TOKENS"
    token_indices = acfg["token_indices"]
    with open(os.path.join(ck, "encoder", "config.json")) as f:
        order = json.load(f).get("special_tokens_ids", token_indices)
    st = read_safetensors(os.path.join(ck, "encoder", "adapter_model.safetensors"))
    key = [k for k in st if k.endswith("trainable_tokens_delta")]
    assert len(key) == 1, list(st)
    delta = st[key[0]].to(torch.float32)
    # PEFT: the resized embedding matrix with the delta rows copied in at token_indices.
    E = W["model.embed_tokens.weight"]
    grow = max(token_indices) + 1 - E.shape[0]  # special tokens past the vocabulary (none when it has room)
    if grow > 0:
        E = torch.cat([E, torch.zeros(grow, E.shape[1])], 0)
    E = E.index_copy(0, torch.tensor(token_indices), delta)
    rc_path = os.path.join(ck, "run_config.yml")
    if os.path.exists(rc_path):  # the official loader: yaml.safe_load, len(special_tokens)
        import yaml
        with open(rc_path) as f:
            rc = yaml.safe_load(f)
        assert len(rc["special_tokens"]) == len(token_indices), rc["special_tokens"]
    heads = {}
    for name in ("reconstruction_mlp", "alignment_mlp"):
        # What torch >= 2.6's plain torch.load does: plain containers and tensors only.
        obj = torch.load(os.path.join(ck, name), weights_only=True)
        assert set(obj) == {"state_dict", "config"}, list(obj)
        dtype = getattr(torch, obj["config"]["dtype"].replace("torch.", ""))
        lin = torch.nn.Linear(obj["config"]["input_dim"], obj["config"]["output_dim"]).to(dtype)
        torch.nn.ModuleDict({"projection": lin}).load_state_dict(obj["state_dict"])
        heads[name] = lin.to(torch.float32)
    with open(os.path.join(ck, "encoder_decoder_config.json")) as f:
        K = int(json.load(f)["encoding_mode"].split("_")[1])
    with open(a.ids) as f:
        rows = json.load(f)
    S = len(order)

    def embeds(ids):
        return E[torch.tensor(list(ids) + list(order), dtype=torch.long)]

    edit = None
    if a.ablate_positions:  # ablation: those special positions replaced at those layers
        positions = [int(x) for x in a.ablate_positions.split(",")]
        layers = set(int(x) for x in a.ablate_layers.split(","))
        rep = None
        if a.ablate_mean_ids:  # the mean of the special positions' streams over these rows
            with open(a.ablate_mean_ids) as f:
                mean_rows = json.load(f)
            acc = None
            with torch.no_grad():
                for ids in mean_rows:
                    rec = []
                    forward_embeds(cfg, W, embeds(ids), causal=True, record=rec)
                    st = torch.stack([r[-S:] for r in rec]).to(torch.float64)
                    acc = st if acc is None else acc + st
            rep = (acc / len(mean_rows)).to(torch.float32)

        def edit(l, h):
            if l not in layers:
                return h
            h = h.clone()
            for i in positions:
                h[h.shape[0] - S + i] = 0 if rep is None else rep[l][i]
            return h

    out = []
    with torch.no_grad():
        for ids in rows:
            h = forward_embeds(cfg, W, embeds(ids), causal=True, edit=edit)
            c = h[-K:]
            out.append(heads["alignment_mlp"](heads["reconstruction_mlp"](c)).mean(0))
    emb = torch.stack(out).numpy().astype(np.float32)
    np.save(a.out, emb)
    print(f"reference encode: {emb.shape} from {ck}")


# ---------------------------------------------------------------- LoRA and the LLM2Vec teacher


def make_lora(a):
    cfg, W = load_model(a.model)
    g = torch.Generator().manual_seed(a.seed)
    targets = a.targets.split(",")
    tensors = {}
    for l in range(cfg["num_hidden_layers"]):
        for t in targets:
            sub = "mlp" if t in ("gate_proj", "up_proj", "down_proj") else "self_attn"
            w = W[f"model.layers.{l}.{sub}.{t}.weight"]
            base = f"base_model.model.{a.prefix}layers.{l}.{sub}.{t}"
            tensors[base + ".lora_A.weight"] = torch.randn(a.r, w.shape[1], generator=g) * 0.1
            tensors[base + ".lora_B.weight"] = torch.randn(w.shape[0], a.r, generator=g) * 0.1
    os.makedirs(a.out, exist_ok=True)
    write_safetensors(os.path.join(a.out, "adapter_model.safetensors"), tensors)
    with open(os.path.join(a.out, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "r": a.r, "lora_alpha": a.alpha, "target_modules": targets,
                   "use_rslora": a.rslora, "lora_dropout": 0.05, "bias": "none", "fan_in_fan_out": False,
                   "base_model_name_or_path": a.model, "task_type": None}, f, indent=2)
    print(f"wrote LoRA {a.out}: r={a.r} alpha={a.alpha} rslora={a.rslora} targets={targets}")


def merged_weights(model_dir, lora_dirs):
    cfg, W = load_model(model_dir)
    for d in lora_dirs:
        with open(os.path.join(d, "adapter_config.json")) as f:
            c = json.load(f)
        scale = c["lora_alpha"] / (math.sqrt(c["r"]) if c.get("use_rslora") else c["r"])
        st = read_safetensors(os.path.join(d, "adapter_model.safetensors"))
        for k, A in st.items():
            if not k.endswith(".lora_A.weight"):
                continue
            B = st[k.replace("lora_A", "lora_B")]
            name = k[len("base_model.model."):-len(".lora_A.weight")]
            if not name.startswith("model."):
                name = "model." + name
            W[name + ".weight"] = W[name + ".weight"] + scale * (B.double() @ A.double()).float()
    return cfg, W


def merge_lora(a):
    cfg, W = merged_weights(a.model, a.lora)
    os.makedirs(a.out, exist_ok=True)
    for k, v in W.items():
        np.save(os.path.join(a.out, k + ".npy"), v.numpy())
    print(f"merged weights -> {a.out}")


def llm2vec(a):
    cfg, W = merged_weights(a.model, a.lora)
    with open(a.ids) as f:
        rows = json.load(f)
    E = W["model.embed_tokens.weight"]
    with torch.no_grad():
        out = [forward_embeds(cfg, W, E[torch.tensor(ids, dtype=torch.long)], causal=False).mean(0) for ids in rows]
    emb = torch.stack(out).numpy().astype(np.float32)
    np.save(a.out, emb)
    print(f"reference llm2vec teacher: {emb.shape}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("make-official")
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--thought", type=int, default=0)
    p.add_argument("--compression", type=int, default=10)
    p.add_argument("--teacher-dim", type=int, default=24)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--key-style", choices=["plain", "token_adapter"], default="plain")
    p.add_argument("--full-matrix", action="store_true")
    p.set_defaults(fn=make_official)
    p = sub.add_parser("encode")
    p.add_argument("--model", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--ids", required=True, help="JSON list of token-id rows")
    p.add_argument("--out", required=True)
    p.add_argument("--ablate-positions", default="", help="special positions (0 = first special token) to ablate")
    p.add_argument("--ablate-layers", default="", help="residual-stream layers (0..L) where they are replaced")
    p.add_argument("--ablate-mean-ids", default="", help="JSON id rows whose mean special states replace them "
                   "(default: zeros)")
    p.set_defaults(fn=encode)
    p = sub.add_parser("make-lora")
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--r", type=int, default=4)
    p.add_argument("--alpha", type=float, default=8)
    p.add_argument("--targets", default="q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")
    p.add_argument("--rslora", action="store_true")
    p.add_argument("--prefix", default="model.", help="module path prefix after base_model.model.")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(fn=make_lora)
    p = sub.add_parser("merge-lora")
    p.add_argument("--model", required=True)
    p.add_argument("--lora", action="append", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=merge_lora)
    p = sub.add_parser("llm2vec")
    p.add_argument("--model", required=True)
    p.add_argument("--lora", action="append", default=[])
    p.add_argument("--ids", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=llm2vec)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
