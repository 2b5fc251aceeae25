#!/usr/bin/env bash
# `specvae report` at catalogue scale: wall time and peak memory for catalogues of N spectra
# (bench_report prepares each run; 64 bins per spectrum, since the report reads only the few
# hundred spectra it shows, so the catalogue's length is what scales).
# Usage: bench/report_scale.sh BUILD_DIR WORK_DIR N [N ...]
set -euo pipefail
build=$1; work=$2; shift 2
printf "%10s %12s %14s %10s\n" rows "report s" "peak RSS MiB" "page MB"
for n in "$@"; do
  "$build/bench/bench_report" "$n" 64 "$work/r$n" > "$work/prepare$n.log"
  /usr/bin/time -v "$build/src/specvae" report --catalogue "$work/r$n/catalogue" --out "$work/r$n/report.html" \
    > "$work/report$n.log" 2> "$work/time$n.log"
  wall=$(grep 'Elapsed (wall clock)' "$work/time$n.log" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$work/time$n.log" | awk '{print $NF}')
  size=$(stat -c %s "$work/r$n/report.html")
  printf "%10s %12s %14.0f %10.1f\n" "$n" "$wall" "$((rss / 1024))" "$(echo "$size / 1000000" | bc -l)"
done
