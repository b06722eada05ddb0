#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan, in build-fuzz/, separate from the
# main build) and runs each for N minutes on its seed corpus. New inputs that reach new
# code go to build-fuzz/corpus/<target>/ (the checked-in seeds stay untouched); a crash
# leaves build-fuzz/crash-<target>-* and makes the script exit non-zero -- fix it, then
# copy the input into tests/fuzz/corpus_<kind>/ so it is replayed from then on.
#   tests/fuzz/run.sh [MINUTES_PER_TARGET (default 10)] [TARGET...]
#   FUZZ_JOBS=2 tests/fuzz/run.sh 3      # two targets at a time
# FUZZ_TIMEOUT (default 60 s): wall-clock limit per input; generous because on a shared
# machine a process may get a few percent of a core.
# Replay only (no fuzzing), e.g. in CI: tests/fuzz/run.sh 0
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
minutes="${1:-10}"
shift || true
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${FUZZ_JOBS:-1}"

command -v clang++ >/dev/null || { echo "run.sh: clang++ not found (Debian: apt-get install clang libclang-rt-dev)"; exit 2; }
nice -n 5 cmake -S "$here" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
nice -n 5 cmake --build "$build" -j "${BUILD_JOBS:-2}"

declare -A seeds=(
  [fuzz_tokenizer_json]=corpus_json [fuzz_encode]=corpus_json
  [fuzz_safetensors_header]=corpus_safetensors [fuzz_npy_header]=corpus_npy
  [fuzz_config_json]=corpus_config [fuzz_chat_template]=corpus_chat_template
  [fuzz_jsonl]=corpus_jsonl [fuzz_adapter_meta]=corpus_adapter
)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_safetensors_header fuzz_npy_header fuzz_config_json fuzz_chat_template
                                     fuzz_jsonl fuzz_adapter_meta fuzz_tokenizer_json fuzz_encode)

run_one() {
  local t="$1" seed="$here/${seeds[$1]}" work="$build/corpus/$1" log="$build/$1.log"
  mkdir -p "$work"
  if [ "$minutes" = 0 ]; then  # replay the seeds once
    "$build/$t" -runs=0 "$seed" >"$log" 2>&1 || { echo "$t: FAILED (see $log)"; return 1; }
  else
    nice -n 10 "$build/$t" "$work" "$seed" -max_total_time=$((minutes * 60)) -timeout="${FUZZ_TIMEOUT:-60}" -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/crash-$t-" >"$log" 2>&1 ||
      { echo "$t: FAILED (see $log)"; return 1; }
  fi
  local execs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "$t: ok, $execs executions, corpus $(ls "$work" | wc -l) inputs (seeds: ${seeds[$t]})"
}

status=0
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || status=1; running=$((running - 1)); fi
done
while [ "$running" -gt 0 ]; do wait -n || status=1; running=$((running - 1)); done
exit $status
