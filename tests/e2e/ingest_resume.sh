#!/bin/bash
# A killed ingest resumes per input file. Six coadd files on two ranks (three slices each):
#  1. a fresh ingest is the reference;
#  2. an ingest killed on rank 0 after its second file slice fails and leaves its scratch files
#     with their index;
#  3. the rerun says it is resuming, reads only the slices not yet spooled, and writes a dataset
#     bit-identical to the reference (every column and attribute but the creation time), with no
#     scratch file left;
#  4. a kill after every slice is spooled (during the infill pass) resumes with all six;
#  5. a rerun with another ingest setting, or on another rank count, starts afresh.
# Usage: ingest_resume.sh SPECVAE MPIEXEC PYTHON WORKDIR [MPIEXEC FLAGS...]
set -euo pipefail
specvae=$1; mpiexec=$2; python=$3; work=$4; shift 4
rm -rf "$work"; mkdir -p "$work"
quiet=(--set runtime.log_level=info)
fail() { echo "FAIL: $1"; [[ -n "${2:-}" ]] && cat "$2"; exit 1; }
ingest() {  # ingest NP OUT LOG [args...]
  local np=$1 out=$2 log=$3; shift 3
  "$mpiexec" -np "$np" "${mpi_flags[@]}" "$specvae" ingest --input "$work/survey" --out "$out" "${quiet[@]}" "$@" > "$log" 2>&1
}
mpi_flags=("$@")
same() {  # same A B: every dataset and attribute equal (the creation time aside)
  "$python" - "$1" "$2" <<'PY'
import sys
import h5py, numpy as np
a, b = sys.argv[1], sys.argv[2]
with h5py.File(a) as fa, h5py.File(b) as fb:
    names = []
    fa.visit(names.append)
    other = []
    fb.visit(other.append)
    assert sorted(names) == sorted(other), (names, other)
    for n in names:
        if isinstance(fa[n], h5py.Dataset):
            assert np.array_equal(fa[n][()], fb[n][()]), f"{n} differs"
    for k in set(fa.attrs) | set(fb.attrs):
        if k in ("created", "created_utc", "date"):
            continue
        va, vb = fa.attrs.get(k), fb.attrs.get(k)
        assert va is not None and vb is not None and np.array_equal(np.asarray(va), np.asarray(vb)), f"attribute {k}: {va} != {vb}"
    print(f"same: {fa['targetid'].shape[0]} rows, dataset_hash {fa.attrs['dataset_hash']}")
PY
}
leftovers() { find "$work" -maxdepth 1 -name '*.spool.*' -print; }

"$mpiexec" -np 2 "${mpi_flags[@]}" "$specvae" simulate --out "$work/survey" --n 600 --set simulate.spectra_per_file=100 \
  "${quiet[@]}" > "$work/log0" 2>&1 || fail simulate "$work/log0"
[[ $(ls "$work/survey"/coadd-*.fits | wc -l) -eq 6 ]] || fail "expected six coadd files"

echo "== 1. fresh ingest"
ingest 2 "$work/ref.h5" "$work/log1" || fail "fresh ingest" "$work/log1"
! grep -q "resuming" "$work/log1" || fail "a fresh ingest said it was resuming" "$work/log1"

echo "== 2. killed on rank 0 after its second slice"
if SPECVAE_CRASH=ingest.slice_done@0:2 ingest 2 "$work/b.h5" "$work/log2"; then fail "the crash did not happen" "$work/log2"; fi
grep -q "crash injected at ingest.slice_done" "$work/log2" || fail "no injected crash" "$work/log2"
[[ -s "$work/b.h5.spool.0" && -s "$work/b.h5.spool.0.index" ]] || fail "rank 0's scratch file and index are gone"
[[ ! -e "$work/b.h5" ]] || fail "a dataset under the final name after a kill"

echo "== 3. rerun resumes"
ingest 2 "$work/b.h5" "$work/log3" || fail "resumed ingest" "$work/log3"
grep -Eq "resuming a stopped run: [2-6] of 6 file slices" "$work/log3" || fail "no resume from the second slice" "$work/log3"
same "$work/ref.h5" "$work/b.h5" || fail "the resumed dataset differs from the fresh one"
[[ -z "$(leftovers)" ]] || fail "scratch files left: $(leftovers)"

echo "== 4. killed during the infill pass"
# Rank 0's last slice done means both ranks spooled all they will read once rank 1 has too: the
# kill comes at rank 0's dataset write, after every rank's pass 1 (the PCA fit is collective).
if SPECVAE_CRASH=dataset.write@0 ingest 2 "$work/c.h5" "$work/log4"; then fail "the crash did not happen" "$work/log4"; fi
grep -q "crash injected at dataset.write" "$work/log4" || fail "no injected crash" "$work/log4"
ingest 2 "$work/c.h5" "$work/log4b" || fail "resumed ingest" "$work/log4b"
grep -q "resuming a stopped run: 6 of 6 file slices" "$work/log4b" || fail "not every slice was kept" "$work/log4b"
same "$work/ref.h5" "$work/c.h5" || fail "the resumed dataset differs from the fresh one"

echo "== 5. another setting or rank count starts afresh"
if SPECVAE_CRASH=ingest.slice_done@0:2 ingest 2 "$work/d.h5" "$work/log5"; then fail "the crash did not happen" "$work/log5"; fi
ingest 2 "$work/d.h5" "$work/log5b" --set ingest.snr_min=0.5 || fail "ingest with another setting" "$work/log5b"
! grep -q "resuming" "$work/log5b" || fail "resumed with another setting" "$work/log5b"
if SPECVAE_CRASH=ingest.slice_done@0:2 ingest 2 "$work/e.h5" "$work/log6"; then fail "the crash did not happen" "$work/log6"; fi
ingest 1 "$work/e.h5" "$work/log6b" || fail "ingest on one rank" "$work/log6b"
! grep -q "resuming" "$work/log6b" || fail "resumed on another rank count" "$work/log6b"
same "$work/ref.h5" "$work/e.h5" || fail "one rank's dataset differs from two ranks'"
[[ -z "$(leftovers)" ]] || fail "scratch files left: $(leftovers)"
echo "PASS"
