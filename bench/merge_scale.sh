#!/usr/bin/env bash
# `specvae merge` at catalogue scale: wall time and peak memory for N rows in P score shards
# (bench_merge writes them), next to the same job by hand (bench/merge_by_hand.py: numpy,
# h5py, astropy). Optionally also an older specvae binary, for a before/after in one run.
# Usage: bench/merge_scale.sh BUILD_DIR WORK_DIR P N [N ...]   (OLD_SPECVAE=path to compare)
set -euo pipefail
build=$1; work=$2; p=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
timed() {  # label log command...: prints "label wall rss"
  local label=$1 log=$2; shift 2
  /usr/bin/time -v "$@" > "$log.out" 2> "$log.time"
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$log.time" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$log.time" | awk '{print $NF}')
  printf "%10s %3s %-24s %10s %10.0f\n" "$n" "$p" "$label" "$wall" "$((rss / 1024))"
}
printf "%10s %3s %-24s %10s %10s\n" rows P "" "wall" "peak MiB"
for n in "$@"; do
  d="$work/m$n-$p"
  rm -rf "$d"
  "$build/bench/bench_merge" "$n" "$p" "$d/score" > /dev/null
  timed "specvae merge" "$d/specvae" "$build/src/specvae" merge --shards "$d/score" --out "$d/cat"
  if [[ -n "${OLD_SPECVAE:-}" ]]; then
    timed "specvae merge (old)" "$d/old" "$OLD_SPECVAE" merge --shards "$d/score" --out "$d/cat_old"
  fi
  timed "numpy/h5py/astropy" "$d/py" /usr/bin/python3 "$here/merge_by_hand.py" "$d/score" "$d/cat_py"
  rm -rf "$d"
done
