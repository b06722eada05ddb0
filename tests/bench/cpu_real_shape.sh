#!/usr/bin/env bash
# The README's "real shape on a CPU" table: what a user waits for at Qwen3-0.6B's shape
# (random weights, float32, batch 1) on this machine, each row beside its baselines from
# the same run: the kernels OpenBLAS picks by itself (OPENBLAS_CORETYPE=Prescott on a
# CPU it does not recognise), the plain per-layer lens, the weight-read floor and the
# Python peer (tests/bench/peer.py) on the same checkpoint.
#
#   bash tests/bench/cpu_real_shape.sh [BUILD_DIR]     (prints a Markdown table; JSON in $OUT_JSON)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../../build}"
genlens="$build/genlens"
[ -x "$genlens" ] || { echo "cpu_real_shape.sh: no $genlens (build first)" >&2; exit 1; }
json="${OUT_JSON:-$(mktemp /tmp/genlens-cpu-real-shape.XXXXXX.jsonl)}"
: >"$json"
shape=(--shape qwen3-0.6b --batch 1)

run() {  # run LABEL CORETYPE ARGS...: the bench's JSON lines, labelled; CORETYPE "" = genlens's choice
  local label="$1" core="$2"
  shift 2
  # One thread in both pools (--threads 2 overrides both): this table compares kernels
  # and code paths; tests/bench/threads.sh measures the pools.
  if [ -n "$core" ]; then export OPENBLAS_CORETYPE="$core"; else unset OPENBLAS_CORETYPE; fi
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$genlens" "$@" 2>/dev/null |
    while IFS= read -r line; do
      case "$line" in "{"*) printf '{"label":"%s",%s\n' "$label" "${line#\{}" ;; esac
    done >>"$json"
  echo "cpu_real_shape.sh: $label done" >&2
}

gen=(bench generate "${shape[@]}" --steps 2 --new-tokens 32 --query-len 16)
run lens "" bench lens "${shape[@]}" --steps 3
run lens-prescott Prescott bench lens "${shape[@]}" --steps 3
run generate "" "${gen[@]}" --vs-python
run generate-2threads "" --threads 2 "${gen[@]}"
run generate-prescott Prescott "${gen[@]}"
run encode "" bench encode "${shape[@]}" --steps 3
run encode-prescott Prescott bench encode "${shape[@]}" --steps 3

python3 - "$json" "$("$genlens" env | sed -n 's/^blas kernels //p')" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def get(label, case):
    for r in rows:
        if r["label"] == label and r["case"] == case:
            return r
    sys.exit(f"cpu_real_shape.sh: no {label}/{case} in {sys.argv[1]}")
ms = lambda r: r["latency_ms"]["p50"]
lens, lens_p, lens_base = get("lens", "all-layers-top10"), get("lens-prescott", "all-layers-top10"), get("lens", "per-layer-baseline")
g, g2, gp = get("generate", "greedy"), get("generate-2threads", "greedy"), get("generate-prescott", "greedy")
em, eg = get("encode", "mean"), get("encode", "generative")
emp, egp = get("encode-prescott", "mean"), get("encode-prescott", "generative")
peer = g.get("vs_python", {})
print(f"Qwen3-0.6B shape, random weights, float32, batch 1, {g['threads']} LibTorch thread unless said; "
      f"OpenBLAS kernels {sys.argv[2] or '?'}.\n")
print("| what a user waits for | OpenBLAS alone (Prescott) | now | other baseline | now vs Prescott |")
print("|---|---:|---:|---:|---:|")
print(f"| logit lens, every layer x 20 special tokens + soft prompts, top-10 | {ms(lens_p)/1e3:.2f} s | {ms(lens)/1e3:.2f} s "
      f"| {ms(lens_base)/1e3:.2f} s (one head product per layer, compression tokens only) | {ms(lens_p)/ms(lens):.2f}x |")
peer_txt = (f"{peer['tokens_per_s']:.2f} tokens/s ({'HF' if peer.get('impl') == 'hf-transformers' else 'Python eager'}, same prompt)"
            if "tokens_per_s" in peer else "peer did not run")
print(f"| greedy generation, 16-token prompt + 32 tokens, end to end | {gp['tokens_per_s']:.2f} tokens/s | {g['tokens_per_s']:.2f} tokens/s "
      f"| {peer_txt} | {g['tokens_per_s']/gp['tokens_per_s']:.2f}x |")
print(f"| greedy decoding steps alone | {gp['decode_tokens_per_s']:.2f} tokens/s | {g['decode_tokens_per_s']:.2f} tokens/s "
      f"| floor {1e3/g['floor_step_ms']:.2f} tokens/s ({g['weight_mb_per_step']:.0f} MB of weights per token at {g['read_gb_per_s']:.1f} GB/s): "
      f"now {g['step_vs_floor']:.2f}x the floor's time | {g['decode_tokens_per_s']/gp['decode_tokens_per_s']:.2f}x |")
print(f"| the same, 2 threads | | {g2['decode_tokens_per_s']:.2f} tokens/s | floor {1e3/g2['floor_step_ms']:.2f} tokens/s at {g2['read_gb_per_s']:.1f} GB/s: "
      f"{g2['step_vs_floor']:.2f}x | |")
print(f"| encode one query, mean pooling | {ms(emp):.0f} ms | {ms(em):.0f} ms | | {ms(emp)/ms(em):.2f}x |")
print(f"| encode one query, generative | {ms(egp):.0f} ms | {ms(eg):.0f} ms | | {ms(egp)/ms(eg):.2f}x |")
step = g["decode_step_ms"] / 1e3
inspector = ms(lens) / 1e3 + 2 * (g["prompt_ms"] / 1e3 + 47 * step) + ms(eg) / 1e3
inspector_p = ms(lens_p) / 1e3 + 2 * (gp["prompt_ms"] / 1e3 + 47 * gp["decode_step_ms"] / 1e3) + ms(egp) / 1e3
print(f"| one inspector query (lens + answer 48 tokens + decoded 48 tokens + encode), from the rows above | {inspector_p:.0f} s | {inspector:.0f} s | | {inspector_p/inspector:.2f}x |")
PY
echo "cpu_real_shape.sh: JSON lines in $json" >&2
