#!/usr/bin/env bash
# tests/portability.sh: the numerical tests under every CPU kernel configuration this machine
# can run, so results that depend on the CPU show up on one machine. Run by hand
# and before a release:
#
#   tests/portability.sh [BUILD_DIR] [--full]   (default: build; needs build/genlens_tests)
#
# Configurations (each one a run of the genlens_tests binary with a --test-case filter):
#   ATEN_CPU_CAPABILITY  default, avx2, and avx512 where /proc/cpuinfo has avx512f: LibTorch's
#                        vectorised kernels (softmax, reductions, exp, randn ...)
#   OPENBLAS_CORETYPE    Haswell, Zen, and SkylakeX where avx512f: OpenBLAS's float32/float64
#                        gemm kernels (checked: the core OpenBLAS reports is printed)
#   GENLENS_TEST_MKLDNN=0  on CPUs with AVX512BW/VL/DQ only: bf16 matmuls take ATen's native
#                        gemm (bf16 accumulation), the path an AVX2-only CPU takes; elsewhere
#                        that is the default path already (tests/numeric_ref.h)
#   OMP_NUM_THREADS      1 and 4: LibTorch's intra-op pool (and OpenBLAS's, matched to it)
# Every capability x coretype pair runs with mkldnn as it is and the default thread count,
# then each capability once with mkldnn off, then 1 and 4 threads. Prints a table of
# pass/fail counts per configuration (with the core OpenBLAS really chose); exits 1 if any
# configuration failed.
#
#   PORTABILITY_TESTS='name*,other*'   override the test-case filter (doctest wildcards)
#   PORTABILITY_LOGS=DIR               keep each configuration's output there (default: a temp dir)
set -u
cd "$(dirname "$0")/.."
dir=build
full=0
for a in "$@"; do
  if [ "$a" = --full ]; then full=1; else dir=$a; fi
done
build=$(cd "$dir" 2>/dev/null && pwd) || { echo "portability.sh: no build directory $dir" >&2; exit 2; }
bin=$build/genlens_tests
if [ ! -x "$bin" ]; then
  echo "portability.sh: $bin not found; build it first (cmake --build $build --target genlens_tests)" >&2
  exit 2
fi

# The numerical tests: every case that compares computed numbers with a tolerance or a
# reference (float64, NumPy/SciPy/scikit-learn, the Python model references), and the
# training-outcome thresholds whose trajectories depend on rounding. About 1 min per
# configuration on a 2-core machine; --full adds the demo direction tests and UMAP on
# digits (about 7 min more per configuration).
cases=(
  'linear_cross_entropy*'
  'recompute:*'
  'bf16:*'
  'reference: logits and hidden states*'
  'kv cache:*'
  'model: a left-padded batch*'
  'generate: greedy with the cache*'
  'lens: every layer*'
  'lens: special tokens*'
  'decode: greedy decoding*'
  'adamw: matches*'
  'gen: adapter shapes*'
  'gen: reconstruction loss*'
  'gen: 300 steps*'
  'gen: an embedding is the same*'
  'gen: resume equivalence*'
  'official: import*'
  'lora: genlens* merge*'
  'teach: the LLM2Vec teacher*'
  'metrics:*'
  'projection: PCA*'
  'projection: a/b*'
)
if [ $full = 1 ]; then cases+=('projection: UMAP on digits*' 'demo --quick:*'); fi
tests=${PORTABILITY_TESTS:-$(IFS=,; echo "${cases[*]}")}

flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { [[ " $flags " == *" $1 "* ]]; }
caps=(default avx2)
cores=(Haswell Zen)
if has avx512f; then
  caps+=(avx512)
  cores+=(SkylakeX)
fi
onednn_cpu=0
if has avx512bw && has avx512vl && has avx512dq; then onednn_cpu=1; fi

logs=${PORTABILITY_LOGS:-$(mktemp -d /tmp/genlens-portability.XXXXXX)}
mkdir -p "$logs"
model=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/.*: //')
echo "CPU: $model; $(nproc) cores; avx512f: $(has avx512f && echo yes || echo no);" \
  "bf16 matmul by default: $([ $onednn_cpu = 1 ] && echo oneDNN || echo 'ATen native gemm')"
echo "tests: $tests"
echo "logs: $logs"
echo

# Which OpenBLAS core a configuration really gets (OPENBLAS_VERBOSE would print it, but into
# the output of every genlens the tests run and parse, so it is asked for separately).
blas_core() {
  OPENBLAS_CORETYPE=$1 /usr/bin/python3 -c 'import ctypes
l = ctypes.CDLL("libopenblas.so.0"); l.openblas_get_corename.restype = ctypes.c_char_p
print(l.openblas_get_corename().decode())' 2>/dev/null || echo '?'
}

rows=()
failed_any=0
run_config() {  # capability coretype mkldnn(on|off) threads(default|N)
  local cap=$1 core=$2 mk=$3 th=$4
  local name="cap=$cap blas=$core mkldnn=$mk threads=$th"
  local log="$logs/${cap}_${core}_mkldnn-${mk}_threads-${th}.log"
  local env=(ATEN_CPU_CAPABILITY="$cap" OPENBLAS_CORETYPE="$core")
  [ "$mk" = off ] && env+=(GENLENS_TEST_MKLDNN=0)
  [ "$th" != default ] && env+=(OMP_NUM_THREADS="$th")
  local t0=$SECONDS
  (cd "$build" && env "${env[@]}" "$bin" --test-case="$tests" --no-colors=true) >"$log" 2>&1
  local rc=$? secs=$((SECONDS - t0))
  # doctest's summary: "[doctest] test cases: 30 | 29 passed | 1 failed | 0 skipped"
  local summary passed failed
  summary=$(grep '^\[doctest\] test cases:' "$log" | tail -1)
  passed=$(sed -n 's/.*| *\([0-9]*\) passed.*/\1/p' <<<"$summary")
  failed=$(sed -n 's/.*| *\([0-9]*\) failed.*/\1/p' <<<"$summary")
  [ -z "$passed" ] && passed=? && failed="?(rc=$rc)"
  [ "$rc" != 0 ] && failed_any=1
  rows+=("$(printf '%-8s %-9s %-10s %-7s %-7s %6s %6s %6ss' "$cap" "$core" "$(blas_core "$core")" "$mk" "$th" \
    "$passed" "$failed" "$secs")")
  printf '%-54s passed %s, failed %s (%ss)\n' "$name" "$passed" "$failed" "$secs"
  if [ "$rc" != 0 ]; then grep -E -A3 'ERROR|FATAL' "$log" | head -24 | sed 's/^/    /'; fi
}

# Every capability x coretype; then, where it changes the bf16 path, mkldnn off for each
# capability; then LibTorch's intra-op pool at 1 and 4 threads (parallel reductions split
# by thread count; a bigger machine's default).
for cap in "${caps[@]}"; do
  for core in "${cores[@]}"; do run_config "$cap" "$core" on default; done
done
if [ $onednn_cpu = 1 ]; then
  for cap in "${caps[@]}"; do run_config "$cap" "${cores[0]}" off default; done
fi
for th in 1 4; do run_config avx2 "${cores[0]}" on "$th"; done

echo
printf '%-8s %-9s %-10s %-7s %-7s %6s %6s %7s\n' capab. coretype 'got core' mkldnn threads passed failed time
for r in "${rows[@]}"; do echo "$r"; done
exit $failed_any
