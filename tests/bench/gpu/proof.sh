#!/usr/bin/env bash
# The GPU proof in one call on a lent machine (one 10-minute command): builds genlens and
# its tests against the machine's own pip LibTorch (tests/bench/gpu/build.sh; the Debian
# libraries it lacks travel as .deb files in shared/debs), runs the CUDA-only tests and a
# part of the suite, then the benchmark table at the Qwen3-0.6B shape in bf16, and leaves
# everything under $OUT (summary.txt first). Every step has a share of BUDGET_S; a step
# that would overrun is cut and summary.txt says so.
#
#   OUT=/some/dir bash tests/bench/gpu/proof.sh
#
# Without CUDA (no torch, a CPU torch, or no GPU visible) it stops before building, exit
# 3, saying why: that dry run is a CTest ("gpu proof: ..." in tests/unit/test_cuda.cpp).
# Environment: PYTHON (the python with torch; default python3), OUT (default ./gpu-proof),
# GPU_PROOF_BUILD (default build-gpu), BUDGET_S (default 560), JOBS (default all cores).
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
py="${PYTHON:-python3}"
out="${OUT:-$PWD/gpu-proof}"
build="${GPU_PROOF_BUILD:-$repo/build-gpu}"
budget="${BUDGET_S:-560}"
t0=$SECONDS
mkdir -p "$out"
summary="$out/summary.txt"
: >"$summary"
say() { echo "gpu proof: $*" | tee -a "$summary"; }
left() { echo $((budget - (SECONDS - t0))); }
# Runs "$@" with at most $1 seconds, logging to $out/$2; returns its status (124: cut).
step() {
  local limit="$1" log="$2"; shift 2
  if [ "$limit" -le 5 ]; then say "$log: not run, the time budget is spent"; return 124; fi
  local s=$SECONDS
  timeout --kill-after=10 "$limit" "$@" >"$out/$log" 2>&1
  local rc=$?
  say "$log: exit $rc after $((SECONDS - s)) s$([ $rc = 124 ] && echo " (cut at the $limit s share)")"
  return $rc
}

# 1. Is there CUDA at all? Nothing is built without it.
probe="$("$py" - 2>&1 <<'PY'
import torch
print("torch-probe", torch.__version__, torch.version.cuda, int(torch.cuda.is_available()), torch.cuda.device_count())
PY
)"
read -r tag tv cv avail count <<<"$(grep '^torch-probe ' <<<"$probe" | tail -1)"
if [ "${tag:-}" != torch-probe ] || [ "${avail:-0}" != 1 ]; then
  if [ "${tag:-}" != torch-probe ]; then
    why="'$py' cannot import torch ($(tail -1 <<<"$probe"))"
  elif [ "${cv:-None}" = None ]; then
    why="$py's torch $tv is built without CUDA"
  else
    why="$py's torch $tv (CUDA $cv) sees no GPU (CUDA_VISIBLE_DEVICES='${CUDA_VISIBLE_DEVICES-unset}'; check nvidia-smi)"
  fi
  say "no CUDA device: $why; nothing was built or run"
  exit 3
fi
say "torch $tv, CUDA $cv, $count device(s); budget ${budget} s"
nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || true

# 2. Build genlens and genlens_tests (the compile is most of the call).
share=$(($(left) - 200))
if ! step "$share" build.log env TARGETS="genlens genlens_tests" PYTHON="$py" bash "$repo/tests/bench/gpu/build.sh" "$build"; then
  tail -40 "$out/build.log"
  say "build failed or was cut: see build.log"
  exit 1
fi
"$build/genlens" env >"$out/env.txt" 2>&1 || true

# 3. The CUDA-only tests (they must run here, not skip), then the benchmark table.
step $((($(left) > 100 ? 100 : $(left)))) device-tests.log \
  ctest --test-dir "$build" -R '^cuda: ' --output-on-failure --timeout 90
grep -E 'tests passed|Skipped|Failed|Passed' "$out/device-tests.log" | tee -a "$summary"
if grep -q 'Skipped' "$out/device-tests.log"; then say "WARNING: a CUDA-only test skipped on the GPU machine"; fi

common=(--shape qwen3-0.6b --device cuda --dtype bf16 --python "$py")
bench() {
  local name="$1"; shift
  local limit=$(($(left) > 90 ? 90 : $(left) - 5))
  step "$limit" "bench-$name.log" "$build/genlens" bench "$@" "${common[@]}"
  grep '^{' "$out/bench-$name.log" >>"$out/bench.jsonl"
}
: >"$out/bench.jsonl"
bench encode encode --batch 64 --query-len 512 --steps 10 --vs-python
bench train train --batch 32 --query-len 512 --response-len 500 --steps 5 --vs-python
bench generate generate --batch 64 --query-len 128 --new-tokens 256 --steps 3 --vs-python
bench lens lens --batch 8 --query-len 512 --steps 5
"$py" - "$out/bench.jsonl" >"$out/bench-table.md" 2>&1 <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| bench | case | items/s | tokens/s | TFLOP/s | MFU | CUDA peak MB | vs Python |")
print("|---|---|---|---|---|---|---|---|")
f = lambda v, d=1: "-" if v is None else f"{v:.{d}f}"
for r in rows:
    p = r.get("vs_python") or {}
    vs = f"{p['speedup']:.2f}x {p.get('impl', '')}" if "speedup" in p else p.get("error", "-")
    print(f"| {r['bench']} | {r['case']} | {f(r.get('items_per_s'))} | {f(r.get('tokens_per_s'), 0)} | "
          f"{f(r.get('tflops'))} | {f(r.get('mfu'), 3)} | {f(r.get('cuda_peak_mb'), 0)} | {vs} |")
PY
cat "$out/bench-table.md" | tee -a "$summary"

# 4. What time is left: the rest of the suite on this machine (cut, and said so, when short).
step $(($(left) - 10)) suite.log ctest --test-dir "$build" -E '^cuda: ' -j "$(nproc)" --timeout 60
grep -E 'tests passed|tests failed' "$out/suite.log" | tee -a "$summary"
say "done in $((SECONDS - t0)) s; results in $out"
