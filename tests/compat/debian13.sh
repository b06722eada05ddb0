#!/usr/bin/env bash
# LibTorch 2.x without a GPU: Debian 13 (trixie) ships libtorch-dev 2.6 (CPU). This
# debootstraps a trixie root, clones this checkout's HEAD into it, installs the project
# there with its own install script, builds and runs the whole test suite against
# LibTorch 2.6 (the SDPA attention path included). Run as root on Debian 12.
#
#   bash tests/compat/debian13.sh [ROOT]        ROOT defaults to /var/tmp/genlens-trixie
#   CUDA=1 bash tests/compat/debian13.sh [ROOT]  the CUDA LibTorch instead (tests/compat/debian13-cuda.sh)
#
# CUDA=1: the root's apt sources get contrib and non-free, the install script runs with
# --cuda (libtorch-cuda-dev: LibTorch 2.6 with CUDA 12, NCCL, gloo-cuda; the CUDA toolkit),
# and the build must have the CUDA code compiled in (GENLENS_CUDA, the NCCL process group)
# or the script stops. No GPU is needed: torch reports no device, the CPU tests run as
# ever and the CUDA-only tests report themselves skipped (CTest "Skipped", with the reason).
#
# Stages are resumable: an existing root is reused (its packages updated by the install
# script), and the build directory inside it is kept between runs. Environment:
#   MIRROR=http://deb.debian.org/debian   BUILD_JOBS=2   STAGE=all|root|build|test
#   CTEST_ARGS="-R tokenizer"              (extra arguments for ctest)
#   BUILD_TARGETS="genlens genlens_tests"  (built in that order; default: all)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
root="${1:-/var/tmp/genlens-trixie}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
jobs="${BUILD_JOBS:-2}"
stage="${STAGE:-all}"
cuda="${CUDA:-}"
build_dir=build
deps_args=""
torch_pkg=libtorch-dev
if [ -n "$cuda" ]; then
  root="${1:-/var/tmp/genlens-trixie-cuda}"
  build_dir=build-cuda
  deps_args="--cuda"
  torch_pkg=libtorch-cuda-dev
fi

[ "$(id -u)" = 0 ] || { echo "debian13.sh: run as root (debootstrap and chroot need it)" >&2; exit 2; }
command -v debootstrap >/dev/null || {
  echo "debian13.sh: installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
}

mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() {
  mkdir -p "$root$1"
  if ! mountpoint -q "$root$1"; then
    mount --bind "$1" "$root$1"
    mounted+=("$root$1")
  fi
}
in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt bash -c "$1"; }

if [ ! -x "$root/usr/bin/apt-get" ]; then
  echo "debian13.sh: debootstrap trixie into $root"
  debootstrap --variant=minbase trixie "$root" "$mirror"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
if [ -n "$cuda" ] && ! grep -qs 'contrib' "$root/etc/apt/sources.list"; then
  # libtorch-cuda-dev is in contrib (it depends on non-free CUDA libraries).
  echo "deb $mirror trixie main contrib non-free non-free-firmware" >"$root/etc/apt/sources.list"
  rm -f "$root/etc/apt/sources.list.d/debian.sources"
  in_root_early_update=1
fi
# This machine's extra certificate authorities (a TLS-inspecting proxy, say), so apt and
# npm inside the root trust what the host trusts.
if [ -d /usr/local/share/ca-certificates ]; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi
bind /proc
bind /dev
bind /sys

# This checkout's committed HEAD, as a fresh clone (what a new machine would have).
rev="$(git -C "$repo" rev-parse HEAD)"
if [ ! -d "$root/src/genlens/.git" ]; then
  in_root "apt-get update -q && apt-get install -y -q --no-install-recommends git ca-certificates"
  mkdir -p "$root/src"
  git clone -q "$repo" "$root/src/genlens"
fi
git -C "$root/src/genlens" fetch -q "$repo" "$rev"
git -C "$root/src/genlens" checkout -q --force "$rev"
echo "debian13.sh: testing $(git -C "$repo" log --oneline -1 "$rev")"

[ -n "${in_root_early_update:-}" ] && in_root "apt-get update -q"
in_root "apt-get install -y -q --no-install-recommends ca-certificates >/dev/null && update-ca-certificates >/dev/null"
if ! in_root "cd /src/genlens && bash third_party/install-deps.sh $deps_args"; then
  # CUDA: nvidia-cudnn downloads cuDNN from NVIDIA when configured; where that server is
  # out of reach the root gets a stand-in libcudnn.so.9 (never called without a GPU).
  [ -n "$cuda" ] && in_root "dpkg-query -W -f='\${Status}' nvidia-cudnn 2>/dev/null | grep -qv 'install ok installed'" || exit 1
  echo "debian13.sh: nvidia-cudnn could not fetch cuDNN from NVIDIA: installing the stand-in (tests/compat/cudnn-standin.sh)"
  in_root "cd /src/genlens && bash tests/compat/cudnn-standin.sh && bash third_party/install-deps.sh $deps_args"
fi
if [ -n "$cuda" ] && in_root "dpkg-query -W -f='\${Version}' nvidia-cudnn | grep -q genlens.standin"; then
  echo "debian13.sh: libcudnn.so.9 in this root is the stand-in (no real cuDNN; fine without a GPU)"
fi
in_root "dpkg-query -W -f='$torch_pkg \${Version}\n' $torch_pkg; g++ --version | head -1"
[ "$stage" = root ] && exit 0

in_root "cd /src/genlens && cmake -S . -B $build_dir -G Ninja -DCMAKE_BUILD_TYPE=Release >$build_dir.cmake.log 2>&1 \
  || { cat $build_dir.cmake.log; exit 1; }; grep -E '^-- genlens' $build_dir.cmake.log"
if [ -n "$cuda" ]; then
  # A CUDA LibTorch that CMake did not recognise would build a CPU genlens and pass
  # every test: the CUDA code must be compiled in.
  in_root "cd /src/genlens && grep -q 'c10d NCCL process group enabled' $build_dir.cmake.log && \
    grep -q 'GENLENS_CUDA=1' $build_dir/build.ninja" || {
    echo "debian13.sh: CUDA=1 but the build has no CUDA code (GENLENS_CUDA / NCCL): see $root/src/genlens/$build_dir.cmake.log" >&2
    exit 1
  }
  echo "debian13.sh: CUDA code compiled in (GENLENS_CUDA=1, USE_C10D_NCCL=1)"
fi
if [ -n "${BUILD_TARGETS:-}" ]; then
  # One after the other: the first (the CLI) links before the tests start compiling.
  for t in $BUILD_TARGETS; do
    in_root "cd /src/genlens && cmake --build $build_dir -j $jobs --target $t -- -k 0"
    echo "debian13.sh: built $t"
  done
else
  in_root "cd /src/genlens && cmake --build $build_dir -j $jobs"
fi
[ "$stage" = build ] && exit 0

in_root "cd /src/genlens && ctest --test-dir $build_dir --output-on-failure -j $jobs ${CTEST_ARGS:-}"
