#!/usr/bin/env bash
# For the CUDA test root only (tests/compat/debian13.sh CUDA=1), never a real machine:
# Debian's nvidia-cudnn is an installer that downloads cuDNN from NVIDIA when configured,
# and where NVIDIA's server cannot be reached it fails, leaving libtorch-cuda-2.6 (which
# links libcudnn.so.9) unconfigured. Without a GPU cuDNN is never called, but the loader
# and the linker still need libcudnn.so.9. This builds a stand-in package "nvidia-cudnn"
# whose libcudnn.so.9 defines, under the library's symbol version, exactly the cudnn*
# functions LibTorch imports, each returning CUDNN_STATUS_NOT_INITIALIZED (and a version
# of 0, which LibTorch rejects loudly) so that any use on a GPU fails at once instead of
# computing nonsense. It replaces the half-configured installer and lets apt finish.
# Run inside the root, as root, after install-deps.sh --cuda stopped at nvidia-cudnn.
set -euo pipefail

lib_dir="/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

syms="$(for l in "$lib_dir"/libtorch_cuda.so.* "$lib_dir"/libtorch_python.so.*; do
          [ -e "$l" ] && nm -D --undefined-only "$l"
        done | awk '$2 ~ /^cudnn.*@libcudnn\.so\.9$/ {sub(/@.*/, "", $2); print $2}' | sort -u)"
[ -n "$syms" ] || { echo "cudnn-standin: no cudnn symbols imported by $lib_dir/libtorch_cuda.so.*: is libtorch-cuda-2.6 unpacked?" >&2; exit 1; }

{
  echo "/* Stand-in libcudnn.so.9 for a root without a GPU (tests/compat/cudnn-standin.sh). */"
  echo "#include <stddef.h>"
  for s in $syms; do
    case "$s" in
      cudnnGetVersion | cudnnGetCudartVersion | cudnnGetMaxDeviceVersion) echo "size_t $s(void) { return 0; }" ;;
      cudnnGetErrorString) echo "const char* $s(int s) { (void)s; return \"cuDNN stand-in (no GPU test root): not a real cuDNN\"; }" ;;
      *) echo "int $s(void) { return 1; /* CUDNN_STATUS_NOT_INITIALIZED */ }" ;;
    esac
  done
} >"$work/cudnn_standin.c"
{ echo "libcudnn.so.9 {"; echo "  global:"; for s in $syms; do echo "    $s;"; done; echo "  local: *;"; echo "};"; } >"$work/cudnn.map"

pkg="$work/pkg"
mkdir -p "$pkg/DEBIAN" "$pkg$lib_dir"
gcc -shared -fPIC -O1 -Wl,-soname,libcudnn.so.9 -Wl,--version-script="$work/cudnn.map" \
  -o "$pkg$lib_dir/libcudnn.so.9" "$work/cudnn_standin.c"
ln -s libcudnn.so.9 "$pkg$lib_dir/libcudnn.so"
# A version above the archive's (9.0.0.312~cuda12), so apt keeps this one.
cat >"$pkg/DEBIAN/control" <<EOF
Package: nvidia-cudnn
Version: 9.0.0.312~cuda12+genlens.standin1
Architecture: $(dpkg --print-architecture)
Maintainer: genlens tests <genlens@localhost>
Section: contrib/libs
Priority: optional
Description: stand-in libcudnn.so.9 for genlens's GPU-less CUDA test root
 Every cuDNN function returns an error. Built by tests/compat/cudnn-standin.sh.
EOF
dpkg-deb --build --root-owner-group "$pkg" "$work/nvidia-cudnn-standin.deb" >/dev/null

# The installer's prerm purges what it downloaded if its licence was agreed to: nothing was.
echo "nvidia-cudnn nvidia-cudnn/question select I DON'T AGREE" | debconf-set-selections
dpkg --purge --force-depends nvidia-cudnn >/dev/null 2>&1 || true
dpkg -i "$work/nvidia-cudnn-standin.deb"
echo "cudnn-standin: libcudnn.so.9 stand-in with $(wc -w <<<"$syms") functions installed"
DEBIAN_FRONTEND=noninteractive apt-get install -f -y -q >/dev/null
dpkg --configure -a
