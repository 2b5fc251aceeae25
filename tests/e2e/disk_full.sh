#!/bin/bash
# Out of space, as a $SCRATCH quota ends a long job: each stage writes into a small tmpfs this
# test mounts. Each must fail with one line naming the file and the reason (no HDF5 or CFITSIO
# stack, no internal-error abort), leave no temporary, scratch or staging file behind, and keep
# the previous outputs as they were. ingest and train refuse before the long write where they
# can see it will not fit. Exit 77 (CTest: skipped) where a tmpfs cannot be mounted.
# Usage: disk_full.sh SPECVAE MPIEXEC PYTHON WORKDIR [MPIEXEC FLAGS...]
set -euo pipefail
specvae=$1; mpiexec=$2; python=$3; work=$4; shift 4
[[ -d "$work/fs" ]] && umount "$work/fs" 2>/dev/null || true
rm -rf "$work"; mkdir -p "$work/fs"
if [[ $(id -u) -ne 0 ]] || ! mount -t tmpfs -o size=4m tmpfs "$work/fs" 2> "$work/mount.err"; then
  echo "SKIPPED: cannot mount a tmpfs here (needs root): $(cat "$work/mount.err" 2>/dev/null)"; exit 77
fi
trap 'umount "$work/fs" 2>/dev/null || true' EXIT
fs="$work/fs"
tiny=(--set train.epochs=1 --set train.min_steps=0 --set "model.encoder_layers=[16]" --set "model.decoder_layers=[16]"
      --set train.batch_size=32 --set train.threads=1 --set runtime.log_level=warn)
run() { "$mpiexec" -np 2 "$@"; }
fail() { echo "FAIL: $1"; [[ -n "${2:-}" ]] && cat "$2"; exit 1; }

# The inputs of each stage, on the ordinary disk.
run "$@" "$specvae" simulate --out "$work/survey" --n 300 "${tiny[@]}" > "$work/log0" 2>&1 || fail simulate "$work/log0"
run "$@" "$specvae" ingest --input "$work/survey" --out "$work/dataset.h5" "${tiny[@]}" >> "$work/log0" 2>&1 || fail ingest "$work/log0"
run "$@" "$specvae" train --data "$work/dataset.h5" --out "$work/train" "${tiny[@]}" >> "$work/log0" 2>&1 || fail train "$work/log0"
run "$@" "$specvae" score --data "$work/dataset.h5" --model "$work/train" --out "$work/score" "${tiny[@]}" >> "$work/log0" 2>&1 ||
  fail score "$work/log0"

# fill_to BYTES: leaves about BYTES free on the tmpfs.
fill_to() {
  rm -f "$fs/filler"
  local avail; avail=$(df --output=avail -B1 "$fs" | tail -1)
  (( avail > $1 )) && head -c $(( avail - $1 )) /dev/zero > "$fs/filler" || true
}
# expect_full LOG PATH: the stage failed, saying so in one line that names PATH, and left
# nothing of its own behind.
expect_full() {
  local log=$1 path=$2
  grep -Eq "error \(rank [0-9]+\): [^ ]*${path}[^ ]*: .*(No space left on device|not enough space for)" "$log" ||
    fail "no one-line message naming $path and the lack of space" "$log"
  ! grep -Eq "HDF5-DIAG|CFITSIO status|failed at .*\.cpp" "$log" || fail "a library stack or an internal error" "$log"
  local left; left=$(find "$fs" \( -name '*.tmp.*' -o -name '*.spool.*' -o -name '.staging-*' -o -name '*.new' \) -print)
  [[ -z "$left" ]] || fail "left behind: $left" "$log"
}
sums() { (cd "$1" && md5sum -- * | sort); }

echo "== ingest: 1.7 MB of dataset into 1 MB"
fill_to 1000000
if run "$@" "$specvae" ingest --input "$work/survey" --out "$fs/dataset.h5" "${tiny[@]}" > "$work/log1" 2>&1; then
  fail "ingest wrote into a full disk" "$work/log1"
fi
expect_full "$work/log1" "fs/dataset.h5"
[[ ! -e "$fs/dataset.h5" ]] || fail "a dataset under the final name"

echo "== ingest: the dataset will not fit, seen before the write"
fill_to 2600000   # the scratch files fit (about 1.7 MB), the dataset then does not
if run "$@" "$specvae" ingest --input "$work/survey" --out "$fs/dataset.h5" "${tiny[@]}" > "$work/log1b" 2>&1; then
  fail "ingest wrote into a full disk" "$work/log1b"
fi
expect_full "$work/log1b" "fs/dataset.h5"
grep -q "not enough space for the dataset (.* rows): about .* needed" "$work/log1b" || fail "ingest did not refuse before the write" "$work/log1b"

echo "== train: two checkpoints into half the room they need"
fill_to 500000
if run "$@" "$specvae" train --data "$work/dataset.h5" --out "$fs/train" "${tiny[@]}" > "$work/log2" 2>&1; then
  fail "train wrote into a full disk" "$work/log2"
fi
expect_full "$work/log2" "fs/train"
[[ -z "$(find "$fs/train" -name 'checkpoint-*.h5' 2>/dev/null)" ]] || fail "a checkpoint was written"

echo "== score: the old shards stay"
rm -f "$fs/filler"; mkdir -p "$fs/score"; cp "$work/score"/score-shard-*.h5 "$fs/score/"
before=$(sums "$fs/score")
fill_to 60000
if run "$@" "$specvae" score --data "$work/dataset.h5" --model "$work/train" --out "$fs/score" "${tiny[@]}" \
    > "$work/log3" 2>&1; then
  fail "score wrote into a full disk" "$work/log3"
fi
expect_full "$work/log3" "fs/score"
[[ "$(sums "$fs/score")" == "$before" ]] || fail "the old shards changed"

echo "== merge: the old catalogue stays"
rm -rf "$fs/filler" "$fs/score"
run "$@" "$specvae" merge --shards "$work/score" --out "$fs/cat" "${tiny[@]}" > "$work/log4a" 2>&1 || fail merge "$work/log4a"
before=$(sums "$fs/cat")
for free in 60000 200000 330000; do  # full at the HDF5 file, the FITS file and the CSV
  fill_to "$free"
  if run "$@" "$specvae" merge --shards "$work/score" --out "$fs/cat" "${tiny[@]}" > "$work/log4" 2>&1; then
    fail "merge wrote into a full disk ($free bytes free)" "$work/log4"
  fi
  expect_full "$work/log4" "fs/cat"
  [[ "$(sums "$fs/cat")" == "$before" ]] || fail "the old catalogue changed ($free bytes free)"
done
echo "disk full ok"
