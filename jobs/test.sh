#!/usr/bin/env bash
# The README's test command: install what is needed, configure (CUDA compiled), build, and
# run every test (unit, MPI under mpiexec -np 2 and 3, e2e; GPU tests skip without a GPU).
# Usage: bash jobs/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

bash jobs/install_deps.sh

preset=ci
if [[ ! -x /usr/local/cuda/bin/nvcc ]] && ! command -v nvcc >/dev/null; then
  echo "specvae: no CUDA toolkit found, building without CUDA"
  preset=cpu
fi
jobs=$(nproc)
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs"
ctest --preset "$preset" -j "$jobs" "$@"
