#!/usr/bin/env bash
# Builds the LibTorch-free core and its unit tests (tokenizer + parity, chat templates,
# JSONL, Job/runtime, file-format parsers) under ASan + UBSan, and the Job/runtime tests
# under TSan, each in its own build directory, and runs them. Test cases that start the
# genlens CLI (not built here) and SentencePiece (a dlopen'ed plugin with RTLD_DEEPBIND,
# which the sanitizer runtimes refuse) are excluded.
#   tests/sanitize/run.sh            # asan+ubsan, then tsan
#   tests/sanitize/run.sh asan       # only one of them
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
which=("${@:-asan tsan}")
which=(${which[@]})
exclude='cli:*,bench:*,*sentencepiece*'
status=0
for kind in "${which[@]}"; do
  case "$kind" in
    asan) san="address,undefined"; filter="" ;;
    tsan) san="thread"; filter="-tc=job:*,jsonl:*,metrics log:*,tokenizer: concurrent*" ;;
    *) echo "run.sh: unknown sanitizer set '$kind' (asan or tsan)"; exit 2 ;;
  esac
  build="$root/build-$kind"
  nice -n 5 cmake -S "$here" -B "$build" -G Ninja -DGENLENS_SANITIZE="$san" >/dev/null
  nice -n 5 cmake --build "$build" -j "${BUILD_JOBS:-2}"
  echo "== $kind ($san)"
  # detect_leaks: on; halt at the first report so a finding fails the run.
  if ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
     nice -n 5 "$build/genlens_light_tests" -tce="$exclude" ${filter:+"$filter"}; then
    echo "== $kind: clean"
  else
    echo "== $kind: FAILED"; status=1
  fi
done
exit $status
