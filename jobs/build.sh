#!/usr/bin/env bash
# The one build both README commands use: installs what is needed, picks the preset (ci, CUDA
# compiled, where a CUDA toolkit exists; cpu otherwise), configures and builds in that preset's
# folder, and prints the folder on its last line. `jobs/test.sh` builds everything there;
# `jobs/run_default.sh` then finds `specvae` already built and only runs it.
# Usage: bash jobs/build.sh [cmake --build args, e.g. --target specvae]
# CI=true: a missing CUDA toolkit is an error (CI must compile every line of CUDA).
set -euo pipefail
cd "$(dirname "$0")/.."

bash jobs/install_deps.sh >&2

preset=ci
if [[ ! -x /usr/local/cuda/bin/nvcc ]] && ! command -v nvcc >/dev/null; then
  if [[ "${CI:-}" == "true" ]]; then
    echo "specvae: CI=true but no CUDA toolkit (nvcc) was found: CI compiles the CUDA code" >&2
    exit 1
  fi
  echo "specvae: no CUDA toolkit found, building without CUDA (build-cpu/)" >&2
  preset=cpu
fi
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" "$@" >&2
echo "$PWD/build-$preset"
