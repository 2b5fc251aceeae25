#!/usr/bin/env bash
# Builds the GPU test and benchmark binaries (Release, sm_90) on this machine and copies them,
# with the non-CUDA shared libraries they need, into a bundle (default: .device/ in the repo
# root, git-ignored) that a machine with a GPU, CUDA 13 and none of our Debian libraries can
# run in one call: `bash tests/gpu/run_device_checks.sh OUTDIR` (carry .device along).
# Usage: tests/gpu/prepare_device_bundle.sh [DEST]   (env: JOBS, SPECVAE_DEVICE_BUILD)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${SPECVAE_DEVICE_BUILD:-$ROOT/build-cuda-device}
DEST=${1:-$ROOT/.device}
TARGETS=(specvae_gpu_tests specvae_gpu_nccl_tests specvae_bench_gpu_train specvae_bench_gpu_knn)

# libstdc++/libgcc linked statically into our programs: the GPU machine's may be older.
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPECVAE_ENABLE_CUDA=ON \
  -DSPECVAE_CUDA_ARCHITECTURES=90 -DCMAKE_EXE_LINKER_FLAGS="-static-libstdc++ -static-libgcc" >/dev/null
cmake --build "$BUILD" --target "${TARGETS[@]}" -j"${JOBS:-2}"

rm -rf "$DEST"
mkdir -p "$DEST/bin" "$DEST/lib"
cp "$BUILD/tests/gpu/specvae_gpu_tests" "$BUILD/tests/gpu/specvae_gpu_nccl_tests" "$BUILD/bench/gpu/specvae_bench_gpu_train" \
   "$BUILD/bench/gpu/specvae_bench_gpu_knn" "$DEST/bin/"
cp "$ROOT/tests/gpu/run_device_checks.sh" "$ROOT/tests/gpu/source_hash.sh" "$ROOT/bench/gpu/torch_train.py" "$DEST/"

# Shared libraries: everything ldd resolves except glibc's own and the CUDA libraries the GPU
# machine provides (driver, runtime, cuBLAS, NCCL). Copied libraries may bring their own
# dependencies (libstdc++ for libfmt): resolve to a fixed point.
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libcuda\.so|libcudart\.so|libcublas|libcublasLt|libnccl)'
changed=1
while [ "$changed" = 1 ]; do
  changed=0
  for f in "$DEST"/bin/* "$DEST"/lib/*; do
    [ -f "$f" ] || continue
    while read -r name path; do
      [ -n "$path" ] && [ -f "$path" ] || continue
      if ! [[ "$name" =~ $skip ]] && [ ! -e "$DEST/lib/$name" ]; then
        cp -L "$path" "$DEST/lib/$name"
        changed=1
      fi
    done < <(ldd "$f" 2>/dev/null | awk '/=>/ {print $1, $3}')
  done
done

glibc_max=$(objdump -T "$DEST"/bin/* "$DEST"/lib/* 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
{
  echo "specvae device bundle"
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- CMakeLists.txt cmake src kernels include tests/gpu bench/gpu || echo ' (+ uncommitted changes)')"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), $(/usr/local/cuda/bin/nvcc --version | tail -1)"
  echo "sources: $(bash "$ROOT/tests/gpu/source_hash.sh" "$ROOT")"
  echo "architectures: sm_90; newest glibc symbol needed: ${glibc_max:-none}"
  echo "expected on the GPU machine: libcuda, libcudart.so.13, libcublas(.Lt).so.13, libnccl.so.2 (toolkit or pip"
  echo "  nvidia-* wheels), glibc >= ${glibc_max#GLIBC_} (Ubuntu 24.04: yes; Ubuntu 22.04: no)"
  echo "files:"
  (cd "$DEST" && find . -type f | sort | xargs ls -la | awk '{print "  " $5 "  " $9}')
} > "$DEST/MANIFEST.txt"

size_kib=$(du -sk "$DEST" | cut -f1)
cat "$DEST/MANIFEST.txt"
echo "bundle: $DEST, ${size_kib} KiB"
if [ "$size_kib" -gt $((64 * 1024)) ]; then
  echo "bundle exceeds 64 MiB" >&2
  exit 1
fi
