#!/usr/bin/env bash
# Installs every Debian package genlens needs to build, test and run, and the npm
# packages that serve as test oracles. Idempotent: a fast no-op when all is present,
# `apt-get update` once only when something is missing. Run as root (or via sudo).
#
#   bash third_party/install-deps.sh            LibTorch for the CPU (libtorch-dev)
#   bash third_party/install-deps.sh --cuda     Debian 13's CUDA LibTorch (libtorch-cuda-dev,
#       LibTorch 2.6 with CUDA 12, cuBLAS, NCCL, gloo-cuda) and the CUDA toolkit 12.4, from
#       the archive's contrib and non-free components, which must be in the apt sources.
#       It replaces libtorch-dev, libgloo-dev and python3-torch (the packages conflict).
#       No GPU is needed to install, build or run: torch then reports no device.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cuda=""
for a in "$@"; do
  case "$a" in
    --cuda) cuda=1 ;;
    *) echo "install-deps: unknown option '$a' (known: --cuda)" >&2; exit 2 ;;
  esac
done

packages=(
  # toolchain (ccache: cheap rebuilds on 2 cores; used automatically when present)
  build-essential cmake ninja-build pkg-config git ca-certificates ccache
  # core
  libtorch-dev libopenblas0-pthread libsentencepiece-dev nlohmann-json3-dev
  libcli11-dev libfmt-dev libspdlog-dev libpcre2-dev libicu-dev libyaml-cpp-dev doctest-dev
  libhnswlib-dev
  # c10d (TCPStore + ProcessGroupGloo, shipped by libtorch-dev) includes the Gloo headers
  libgloo-dev
  # studio (Dear ImGui + GLFW + OpenGL 3) and a real window in CI
  libimgui-dev libstb-dev libglfw3-dev libgl-dev libgl1-mesa-dri xvfb xauth
  fonts-dejavu-core fonts-noto-cjk imagemagick
  # independent references for tests (run with /usr/bin/python3)
  python3 python3-torch python3-numpy python3-sklearn python3-scipy python3-yaml
)
if [ -n "$cuda" ]; then
  # The CUDA builds of the same packages; the CUDA toolkit gives CMake's CUDAToolkit (the
  # headers and nvcc LibTorch's CMake config looks for). Debian 13 and later only.
  swapped=()
  for p in "${packages[@]}"; do
    case "$p" in
      libtorch-dev) swapped+=(libtorch-cuda-dev) ;;
      libgloo-dev) swapped+=(libgloo-cuda-dev) ;;
      python3-torch) swapped+=(python3-torch-cuda) ;;
      *) swapped+=("$p") ;;
    esac
  done
  # libnccl-dev: nccl.h, which c10d's ProcessGroupNCCL.hpp includes.
  packages=("${swapped[@]}" nvidia-cuda-toolkit libnccl-dev)
  has_candidate() { [ -n "$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}')" ]; }
  if ! has_candidate libtorch-cuda-dev && ! dpkg-query -W libtorch-cuda-dev >/dev/null 2>&1; then
    $([ "$(id -u)" = 0 ] || echo sudo) apt-get update -q >/dev/null
  fi
  if ! has_candidate libtorch-cuda-dev; then
    echo "install-deps: --cuda: libtorch-cuda-dev is not in the apt sources; it is in Debian 13 (trixie) and later," \
         "component contrib (with non-free for the CUDA toolkit): add 'contrib non-free' to the sources and run" \
         "apt-get update" >&2
    exit 2
  fi
fi
# umap-learn (the UMAP reference) is packaged for Debian 12, not for Debian 13: required
# on bookworm, installed elsewhere only when the archive has it (the tests then say so).
optional=()
if [ "$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-}")" = bookworm ]; then
  packages+=(umap-learn)
else
  optional+=(umap-learn)
fi
# test oracles (npm): any node >= 18 will do; Debian's when none is on PATH.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${#missing[@]} Debian package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#packages[@]} Debian packages present"
fi
for p in "${optional[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && continue
  if [ -n "$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}')" ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$p"
  else
    echo "install-deps: $p is not in this Debian release's archive; tests that compare against it will say so"
  fi
done

# OpenBLAS must be the BLAS LibTorch sees (the reference BLAS is ~30x slower).
arch_lib="/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -dumpmachine)"
if [ -e "$arch_lib/openblas-pthread/libblas.so.3" ]; then
  cur="$(update-alternatives --query "libblas.so.3-$(basename "$arch_lib")" 2>/dev/null | awk '/^Value:/{print $2}')"
  if [ "$cur" != "$arch_lib/openblas-pthread/libblas.so.3" ]; then
    $SUDO update-alternatives --set "libblas.so.3-$(basename "$arch_lib")" "$arch_lib/openblas-pthread/libblas.so.3" || true
  fi
fi

# npm oracles live in third_party/npm (node_modules is git-ignored).
if [ -z "${GENLENS_SKIP_NPM:-}" ]; then
  if [ ! -f "$here/npm/node_modules/.genlens-ok" ] || [ "$here/npm/package.json" -nt "$here/npm/node_modules/.genlens-ok" ]; then
    echo "install-deps: installing npm test oracles"
    (cd "$here/npm" && npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error)
    touch "$here/npm/node_modules/.genlens-ok"
  fi
fi
