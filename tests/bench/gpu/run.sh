#!/usr/bin/env bash
# The GPU measurements, one JSON line per case (ours, with the Python peer
# inside it: HF transformers where importable). Targets: encode >= 2x HF at batch 64 and
# MFU >= 50% at batch 256 (Qwen3-0.6B); train step >= 1.5x HF at batch 32 x 512 query x
# 500 response, fitting one H100 for Qwen3-0.6B and 4B; generation >= 1.5x HF generate.
#   bash tests/bench/gpu/run.sh [GENLENS] [OUT.jsonl]
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
g="${1:-$repo/build-gpu/genlens}"
out="${2:-${OUT:-.}/gpu-bench.jsonl}"
py="${PYTHON:-python3}"
common=(--device cuda --dtype bf16 --python "$py")
run() { echo "+ $*" >&2; "$g" bench "$@" "${common[@]}" | tee -a "$out"; }
: >"$out"
run encode --shape qwen3-0.6b --batch 64 --query-len 512 --steps 10 --vs-python
run encode --shape qwen3-0.6b --batch 256 --query-len 512 --steps 10
run train --shape qwen3-0.6b --batch 32 --query-len 512 --response-len 500 --steps 5 --vs-python
run train --shape qwen3-4b --batch 32 --query-len 512 --response-len 500 --steps 3
run generate --shape qwen3-0.6b --batch 64 --query-len 128 --new-tokens 256 --steps 3 --vs-python
echo "run.sh: results in $out" >&2
