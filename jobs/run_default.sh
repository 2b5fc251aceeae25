#!/usr/bin/env bash
# The main job: the default configuration end to end on this machine — 20,000 simulated
# spectra, the paper's model with specvae's training defaults, 2 MPI ranks — ending with where
# the catalogue is, the detection-quality tables (with the PCA yardstick) and the HTML report.
# Usage: jobs/run_default.sh [OUT_DIR] [extra `specvae run` options, e.g. -c configs/paper.toml]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/specvae-out}
shift || true

# The build folder `jobs/test.sh` made (jobs/build.sh): after the tests this only runs.
build=$(bash "$here/jobs/build.sh" --target specvae | tail -n 1)

# One OpenMP/BLAS thread per rank: the 2 ranks use the 2 cores.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mpi_flags=()
if mpiexec --version 2>/dev/null | grep -qE "Open MPI|OpenRTE"; then
  mpi_flags=(--bind-to core)
  [[ $(id -u) -eq 0 ]] && mpi_flags+=(--allow-run-as-root)
fi
start=$(date +%s)
mpirun -np 2 "${mpi_flags[@]}" "$build/src/specvae" run --set run.out_dir="$out" --set train.threads=1 "$@"
echo "specvae run: $(( $(date +%s) - start )) s wall; outputs in $out (catalogue in $out/catalogue, report $out/report.html)"
