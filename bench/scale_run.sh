#!/usr/bin/env bash
# The whole chain at survey scale on one machine: `specvae run` on N simulated spectra in the
# lighter DESI format (no RESOLUTION HDUs, tile-compressed images: ≈ 26 KB a spectrum, so 1M
# spectra need ≈ 25 GB for the survey plus ≈ 6 GB for the dataset and as much again while
# ingest runs), 2 training epochs. The log gives each stage's wall time and peak memory per rank
# ("run: <stage> done in … s; peak memory per rank … GB") and each stage's own estimate.
# Usage: bench/scale_run.sh SPECVAE OUT_DIR [N_SPECTRA=1000000] [RANKS=2]
set -euo pipefail
specvae=${1:?usage: scale_run.sh SPECVAE OUT_DIR [N_SPECTRA] [RANKS]}; out=${2:?}; n=${3:-1000000}; ranks=${4:-2}
mkdir -p "$out"
cat >"$out/scale.toml" <<TOML
[run]
out_dir = "$out/run"
[simulate]
n_spectra = $n
spectra_per_file = 2500
resolution = false
compress = "rice"
[train]
epochs = 2
min_steps = 0
threads = 1
TOML
flags=()
[[ $(id -u) -eq 0 ]] && flags+=(--allow-run-as-root)
(( ranks > $(getconf _NPROCESSORS_ONLN) )) && flags+=(--oversubscribe)
echo "specvae $("$specvae" --version) on $(lscpu | sed -n 's/^Model name: *//p'), $ranks ranks x 1 thread, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
OMP_NUM_THREADS=1 /usr/bin/time -f "whole job: %e s wall" mpirun -np "$ranks" "${flags[@]}" "$specvae" run --config "$out/scale.toml" 2>&1 |
  tee "$out/run.log" | grep -E "done in|memory estimate|kept|scored|spectra/s  [0-9.]+ s|whole job|error"
du -sh "$out/run/survey" "$out/run/dataset.h5" "$out/run/catalogue"
