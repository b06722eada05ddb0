#!/usr/bin/env bash
# The CUDA build without a GPU: Debian 13 (trixie) LibTorch 2.6 built with CUDA 12
# (contrib's libtorch-cuda-dev, non-free's nvidia-cuda-toolkit 12.4) in a debootstrapped
# root; the CUDA code compiled in, linked, and the whole test suite run. See debian13.sh
# for the stages and the environment (STAGE, BUILD_JOBS, CTEST_ARGS, MIRROR).
#
#   bash tests/compat/debian13-cuda.sh [ROOT]   ROOT defaults to /var/tmp/genlens-trixie-cuda
set -euo pipefail
CUDA=1 exec bash "$(dirname "${BASH_SOURCE[0]}")/debian13.sh" "$@"
