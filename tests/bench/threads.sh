#!/usr/bin/env bash
# The README's "Threads" table: LibTorch's intra-op pool and OpenBLAS's pool sized 1 or 2
# each (set through OMP_NUM_THREADS / OPENBLAS_NUM_THREADS, which genlens honours), at
# Qwen3-0.6B's shape (batch 1: generation, the lens, encoding) and at the bench's toy
# sizes (batch 8-32: encoding, a training step, generation). The figures behind
# runtime::choose_threads (core/runtime/env_info.h).
#
#   bash tests/bench/threads.sh [BUILD_DIR]        (prints a Markdown table; JSON lines in $OUT_JSON)
#   bash tests/bench/threads.sh --table FILE       (the table from JSON lines written before)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

table() {
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def get(label, case):
    for r in rows:
        if r["label"] == label and r["case"] == case:
            return r
    return None
combos = [("t1b1", "1 / 1"), ("t1b2", "1 / 2"), ("t2b2", "2 / 2"), ("t2b1", "2 / 1")]
cases = [("gen", "greedy", "decoding steps, Qwen3-0.6B shape (tokens/s)", lambda r: r["decode_tokens_per_s"], True),
         ("lens", "all-layers-top10", "logit lens, every layer, Qwen3-0.6B shape (s)", lambda r: r["latency_ms"]["p50"] / 1e3, False),
         ("enc", "mean", "encode one query, mean pooling, Qwen3-0.6B shape (ms)", lambda r: r["latency_ms"]["p50"], False),
         ("enc", "generative", "encode one query, generative, Qwen3-0.6B shape (ms)", lambda r: r["latency_ms"]["p50"], False),
         ("toyenc", "generative", "encode a batch, generative, toy size (ms)", lambda r: r["latency_ms"]["p50"], False),
         ("toytrain", "step", "training step, toy size (ms)", lambda r: r["latency_ms"]["p50"], False),
         ("toygen", "greedy", "greedy generation, toy size (tokens/s)", lambda r: r["decode_tokens_per_s"], True)]
print("| LibTorch / OpenBLAS threads | " + " | ".join(c[1] for c in combos) + " |")
print("|---|" + "---:|" * len(combos))
for prefix, case, what, value, higher in cases:
    vals = []
    for key, _ in combos:
        r = get(f"{prefix}-{key}", case)
        vals.append(value(r) if r else None)
    known = [v for v in vals if v is not None]
    best = (max if higher else min)(known) if known else None
    cells = []
    for v in vals:
        if v is None:
            cells.append("")
            continue
        txt = f"{v:.2f}" if v < 100 else f"{v:.0f}"
        cells.append(f"**{txt}**" if v == best else txt)
    print(f"| {what} | " + " | ".join(cells) + " |")
PY
}

if [ "${1:-}" = "--table" ]; then
  table "$2"
  exit 0
fi
build="${1:-$here/../../build}"
genlens="$build/genlens"
[ -x "$genlens" ] || { echo "threads.sh: no $genlens (build first)" >&2; exit 1; }
json="${OUT_JSON:-$(mktemp /tmp/genlens-threads.XXXXXX.jsonl)}"
: >"$json"

run() {  # run LABEL OMP OPENBLAS ARGS...: the bench's JSON lines, labelled
  local label="$1" omp="$2" blas="$3"
  shift 3
  OMP_NUM_THREADS="$omp" OPENBLAS_NUM_THREADS="$blas" "$genlens" "$@" 2>/dev/null |
    while IFS= read -r line; do
      case "$line" in "{"*) printf '{"label":"%s",%s\n' "$label" "${line#\{}" ;; esac
    done >>"$json"
}

for combo in "t1b1 1 1" "t1b2 1 2" "t2b2 2 2" "t2b1 2 1"; do
  set -- $combo
  key="$1" omp="$2" blas="$3"
  run "gen-$key" "$omp" "$blas" bench generate --shape qwen3-0.6b --batch 1 --steps 2 --new-tokens 32 --query-len 16
  run "lens-$key" "$omp" "$blas" bench lens --shape qwen3-0.6b --batch 1 --steps 3
  run "enc-$key" "$omp" "$blas" bench encode --shape qwen3-0.6b --batch 1 --steps 3
  run "toyenc-$key" "$omp" "$blas" bench encode --steps 5
  run "toytrain-$key" "$omp" "$blas" bench train --steps 5
  run "toygen-$key" "$omp" "$blas" bench generate --steps 3
  echo "threads.sh: LibTorch $omp / OpenBLAS $blas done" >&2
done
table "$json"
echo "threads.sh: JSON lines in $json" >&2
