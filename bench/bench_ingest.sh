#!/usr/bin/env bash
# Ingest throughput and peak memory on simulated surveys of 20k and 200k spectra.
# The 20k survey is written by `specvae simulate` (8 files of 2500); the 200k survey is the same
# 8 file pairs linked 10 times under other names (the simulator's 20k files take 8.4 GB, 200k
# would not fit this machine's disk), so both read the same bytes from the page cache and the
# numbers measure preprocessing, not the disk. One warm-up run of the 20k survey fills the cache.
# Usage: bench/bench_ingest.sh BUILD_DIR WORK_DIR [RANKS]      (prints a markdown table)
set -euo pipefail
build=${1:?build dir}; work=${2:?work dir}; ranks=${3:-1}
specvae=$build/src/specvae
mkdir -p "$work"
if [ ! -f "$work/sim20k/truth.csv" ]; then
  "$specvae" simulate --out "$work/sim20k" --n 20000 --overwrite --log-level warn
fi
mkdir -p "$work/sim200k"
for rep in $(seq 0 9); do
  for f in "$work"/sim20k/coadd-*.fits; do
    b=$(basename "$f" .fits); s=${b#coadd-}
    ln -sf "$f" "$work/sim200k/coadd-$s-r$rep.fits"
    ln -sf "$work/sim20k/redrock-$s.fits" "$work/sim200k/redrock-$s-r$rep.fits"
  done
done
run() {  # survey label
  local log="$work/ingest_$2.log"
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/time -v mpiexec -np "$ranks" --oversubscribe --allow-run-as-root \
    "$specvae" ingest --input "$1" --out "$work/dataset_$2.h5" --overwrite > "$log" 2>&1
  local n kept read_s pca_s wall rss
  n=$(grep -o 'ingest: [0-9]* spectra in' "$log" | awk '{print $2}')
  kept=$(grep -o -- '-> [0-9]* kept' "$log" | awk '{print $2}')
  read_s=$(grep -o 'read+preprocess [0-9.]* s' "$log" | awk '{print $2}')
  pca_s=$(grep -o 'PCA fit [0-9.]* s' "$log" | awk '{print $3}')
  wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
  printf '| %s | %s | %s | %s | %s | %.0f | %s | %s | %.0f |\n' "$2" "$ranks" "$n" "$kept" "$read_s" \
    "$(echo "$n / $ranks / $read_s" | bc -l)" "$pca_s" "$wall" "$(echo "$rss / 1024" | bc -l)"
}
run "$work/sim20k" warmup > /dev/null
echo "| survey | ranks | spectra in | kept | read+preprocess s (rank 0) | spectra/s per rank | PCA fit s | wall | peak RSS MiB (largest process) |"
echo "|---|---|---|---|---|---|---|---|---|"
run "$work/sim20k" 20k
run "$work/sim200k" 200k
