#!/usr/bin/env bash
# With every GPU hidden (CUDA_VISIBLE_DEVICES=""), runs each CUDA-only case of
# genlens_tests (names "cuda: ...") alone and fails unless it exited 0 AND printed the
# skip marker: a case that passed without a device never touched one, so its "pass"
# would be a lie. Also fails if no such case exists (a rename would hide them all).
#   bash tests/unit/cuda_skips.sh BUILD/genlens_tests
set -uo pipefail
bin="${1:?usage: cuda_skips.sh GENLENS_TESTS}"
export CUDA_VISIBLE_DEVICES=""
mapfile -t cases < <("$bin" --list-test-cases --test-case='cuda: *' --no-version 2>/dev/null |
                     sed -n 's/^\(cuda: .*\)$/\1/p')
if [ ${#cases[@]} -eq 0 ]; then
  echo "cuda_skips: no test case named 'cuda: ...' in $bin" >&2
  exit 1
fi
bad=0
for c in "${cases[@]}"; do
  # (doctest filters treat ',' '*' '?' specially: the case names hold none of them.)
  out="$("$bin" --test-case="$c" 2>&1)"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "cuda_skips: FAIL '$c' exited $rc without a device:"; echo "$out" | tail -20; bad=1
  elif ! grep -q '^GENLENS-CUDA-SKIPPED: ' <<<"$out"; then
    echo "cuda_skips: FAIL '$c' passed without a device and did not say it skipped"; bad=1
  else
    echo "cuda_skips: ok '$c': $(grep -m1 '^GENLENS-CUDA-SKIPPED: ' <<<"$out")"
  fi
done
echo "cuda_skips: ${#cases[@]} CUDA-only case(s) checked"
exit $bad
