#!/usr/bin/env bash
# End-to-end simulator throughput: `specvae simulate` writing N spectra (default 20000, the
# default survey) with 1 and 2 MPI ranks, one OpenMP thread per rank; wall time from the
# command's start to its end (MPI start-up included), best of REPEATS runs. Checks truth.csv
# has N rows and the expected number of coadd files, then removes the output.
# usage: bench/bench_simulate.sh BUILD_DIR [N] [REPEATS] [OUT_PARENT]
set -euo pipefail
build=${1:?build dir}
n=${2:-20000}
repeats=${3:-1}
parent=${4:-${TMPDIR:-/tmp}}
bin="$build/src/specvae"
per_file=2500
files=$(( (n + per_file - 1) / per_file ))
echo "| ranks | spectra | files | GB written | wall s (best of $repeats) | spectra/s | spectra/s per rank |"
echo "|---|---|---|---|---|---|---|"
for ranks in 1 2; do
  best=""
  for r in $(seq "$repeats"); do
    out="$parent/specvae-bench-simulate-$$-$ranks-$r"
    rm -rf "$out"
    start=$(date +%s.%N)
    OMP_NUM_THREADS=1 mpiexec -np "$ranks" --oversubscribe --allow-run-as-root "$bin" simulate --out "$out" --n "$n" \
      --log-level warn
    end=$(date +%s.%N)
    rows=$(( $(wc -l < "$out/truth.csv") - 1 ))
    nfiles=$(ls "$out"/coadd-*.fits | wc -l)
    [[ $rows -eq $n && $nfiles -eq $files ]] || { echo "bad output: $rows rows, $nfiles files" >&2; exit 1; }
    gb=$(du -sb "$out" | awk '{printf "%.2f", $1/1e9}')
    rm -rf "$out"
    t=$(echo "$end - $start" | bc -l)
    if [[ -z "$best" ]] || (( $(echo "$t < $best" | bc -l) )); then best=$t; fi
  done
  rate=$(echo "$n / $best" | bc -l)
  printf "| %d | %d | %d | %s | %.2f | %.0f | %.0f |\n" "$ranks" "$n" "$files" "$gb" "$best" "$rate" "$(echo "$rate / $ranks" | bc -l)"
done
