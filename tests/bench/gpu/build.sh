#!/usr/bin/env bash
# Builds genlens (the CLI and its tests, no studio) on the GPU machine against the CUDA
# LibTorch inside its pip torch, then optionally runs the GPU benchmarks.
#
#   bash tests/bench/gpu/build.sh [BUILD_DIR]          (default build-gpu)
#   BENCH=1 bash tests/bench/gpu/build.sh              also run tests/bench/gpu/run.sh
#
# The GPU machine has no network: Debian libraries it lacks travel as .deb files in
# shared/debs/ (made here, on Debian 12, with `bash tests/bench/gpu/build.sh --fetch-debs`)
# and are unpacked with `dpkg -x` into BUILD_DIR/sysroot, never installed.
# Environment: PYTHON (default python3, the one with torch), JOBS (default: all cores),
# TARGETS (default genlens; the GPU proof adds genlens_tests).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"

# Everything genlens_core links or includes besides LibTorch (runtime libraries too).
debs=(nlohmann-json3-dev libfmt-dev libfmt9 libspdlog-dev libspdlog1.10 libcli11-dev libpcre2-dev libpcre2-8-0
      libicu-dev libicu72 libyaml-cpp-dev libyaml-cpp0.7 libsentencepiece-dev libsentencepiece0 doctest-dev libhnswlib-dev libgloo-dev
      ninja-build)

if [ "${1:-}" = "--fetch-debs" ]; then
  out="${2:-$repo/shared/debs}"
  mkdir -p "$out"
  (cd "$out" && apt-get download "${debs[@]}")
  echo "build.sh: $(ls "$out"/*.deb | wc -l) .deb files in $out"
  exit 0
fi

build="${1:-$repo/build-gpu}"
py="${PYTHON:-python3}"
jobs="${JOBS:-$(nproc)}"
mkdir -p "$build"

read -r torch_version cuda_version prefix abi < <("$py" - <<'PY'
import torch
print(torch.__version__, torch.version.cuda, torch.utils.cmake_prefix_path, int(torch._C._GLIBCXX_USE_CXX11_ABI))
PY
)
echo "build.sh: torch $torch_version, CUDA $cuda_version, C++11 ABI $abi, LibTorch at $prefix"
[ "$cuda_version" != "None" ] || echo "build.sh: warning: this torch has no CUDA; building a CPU genlens"

# Libraries the machine lacks: unpack the carried .deb files (no root, no dpkg database).
sysroot="$build/sysroot"
extra_prefix=""
if [ -d "$repo/shared/debs" ] && ls "$repo/shared/debs"/*.deb >/dev/null 2>&1; then
  if [ ! -f "$sysroot/.unpacked" ]; then
    mkdir -p "$sysroot"
    for d in "$repo/shared/debs"/*.deb; do dpkg -x "$d" "$sysroot"; done
    touch "$sysroot/.unpacked"
  fi
  extra_prefix="$sysroot/usr;$sysroot/usr/lib/x86_64-linux-gnu/cmake"
  export PKG_CONFIG_PATH="$sysroot/usr/lib/x86_64-linux-gnu/pkgconfig:$sysroot/usr/share/pkgconfig:${PKG_CONFIG_PATH:-}"
  export LD_LIBRARY_PATH="$sysroot/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  export PATH="$sysroot/usr/bin:$PATH"
  echo "build.sh: using libraries unpacked from shared/debs into $sysroot"
fi

# LibTorch 2.x headers need C++17 (the project's standard); CUDA's nvcc is not needed:
# genlens has no .cu files, it only links LibTorch's CUDA libraries.
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix${extra_prefix:+;$extra_prefix}" \
  -DGENLENS_STUDIO=OFF -DGENLENS_FUZZ=OFF -DGENLENS_TESTS=ON \
  -DCAFFE2_USE_CUDNN=ON
# shellcheck disable=SC2086  # TARGETS is a list of target names
cmake --build "$build" -j "$jobs" --target ${TARGETS:-genlens}
echo "build.sh: built $build/genlens"
"$build/genlens" env || true

if [ -n "${BENCH:-}" ]; then
  bash "$repo/tests/bench/gpu/run.sh" "$build/genlens"
fi
