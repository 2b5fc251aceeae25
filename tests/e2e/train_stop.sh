#!/bin/bash
# A batch system's warning signal stops training cleanly and the run continues exactly:
#  1. `specvae train` on 2 ranks gets SIGUSR1 (through mpirun, as a Slurm job script passes its
#     --signal warning on) mid-run: it exits 75 (stopped, state saved) with one line saying where;
#  2. `train --resume` finishes it, and checkpoint-last.h5 and checkpoint-best.h5 hold the same
#     parameters and optimiser state as an uninterrupted run's, metrics.jsonl the same losses;
#  3. `specvae run` stopped the same way exits 75, and running it again resumes training and
#     ends with the uninterrupted run's catalogue;
#  4. SIGTERM outside training (during ingest) still ends the process at once.
# Usage: train_stop.sh SPECVAE MPIEXEC PYTHON WORKDIR [MPIEXEC FLAGS...]
set -euo pipefail
specvae=$1; mpiexec=$2; python=$3; work=$4; shift 4
rm -rf "$work"; mkdir -p "$work"
fail() { echo "FAIL: $1"; [[ -n "${2:-}" ]] && tail -30 "$2"; exit 1; }
run() { "$mpiexec" -np 2 "$@"; }
common=(--set simulate.n_spectra=600 --set simulate.spectra_per_file=200 --set train.epochs=30 --set train.min_steps=0
        --set train.batch_size=16 --set train.threads=1 --set score.recon_samples=2 --set train.checkpoint_every=5)
# stop_after SECONDS LOG CMD...: runs CMD in the background, sends SIGUSR1 to mpirun after
# SECONDS of training (mpirun forwards it to the ranks), and returns CMD's exit code in $rc.
# CMD is mpiexec itself (not a shell function: the signal must reach mpiexec).
stop_after() {
  local secs=$1 log=$2; shift 2
  "$@" > "$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do grep -q "epoch 2/" "$log" && break; sleep 0.05; done
  sleep "$secs"
  kill -USR1 "$pid" 2>/dev/null || true
  rc=0; wait "$pid" || rc=$?
}
same_checkpoints() { "$python" "$(dirname "$0")/same_training.py" "$1" "$2"; }

run "$@" "$specvae" simulate --out "$work/survey" "${common[@]}" > "$work/log0" 2>&1 || fail simulate "$work/log0"
run "$@" "$specvae" ingest --input "$work/survey" --out "$work/d.h5" "${common[@]}" >> "$work/log0" 2>&1 || fail ingest "$work/log0"

echo "== 1. train stopped by SIGUSR1"
run "$@" "$specvae" train --data "$work/d.h5" --out "$work/ref" "${common[@]}" > "$work/log1" 2>&1 || fail "reference train" "$work/log1"
stop_after 1 "$work/log2" "$mpiexec" -np 2 "$@" "$specvae" train --data "$work/d.h5" --out "$work/b" "${common[@]}"
[[ $rc -eq 75 ]] || fail "exit code $rc, not 75 (stopped)" "$work/log2"
grep -Eq "specvae train: stopped by SIGUSR1 after (batch [0-9]+ of [0-9]+ in )?epoch [0-9]+" "$work/log2" || fail "no stop line" "$work/log2"
[[ $(grep -c "stopped by SIGUSR1" "$work/log2") -eq 1 ]] || fail "the stop line is not said once" "$work/log2"
! grep -q "MPI_ABORT" "$work/log2" || fail "the job was aborted" "$work/log2"
grep -o "stopped by SIGUSR1 after[^;]*" "$work/log2"

echo "== 2. --resume ends where an uninterrupted run ends"
run "$@" "$specvae" train --data "$work/d.h5" --out "$work/b" --resume "${common[@]}" > "$work/log3" 2>&1 || fail "resume" "$work/log3"
grep -q "resuming after epoch" "$work/log3" || fail "did not resume" "$work/log3"
same_checkpoints "$work/ref" "$work/b" || fail "the resumed run differs from the uninterrupted one"

echo "== 3. specvae run stopped and run again"
run "$@" "$specvae" run --set run.out_dir="$work/r1" "${common[@]}" > "$work/log4" 2>&1 || fail "reference run" "$work/log4"
stop_after 1 "$work/log5" "$mpiexec" -np 2 "$@" "$specvae" run --set run.out_dir="$work/r2" "${common[@]}"
[[ $rc -eq 75 ]] || fail "run: exit code $rc, not 75" "$work/log5"
run "$@" "$specvae" run --set run.out_dir="$work/r2" "${common[@]}" > "$work/log6" 2>&1 || fail "run again" "$work/log6"
grep -q "resuming training" "$work/log6" || fail "run did not resume training" "$work/log6"
same_checkpoints "$work/r1/train" "$work/r2/train" || fail "run: the resumed training differs"
"$python" - "$work/r1/catalogue/catalogue.h5" "$work/r2/catalogue/catalogue.h5" <<'PY' || fail "the catalogues differ"
import sys
import h5py, numpy as np
with h5py.File(sys.argv[1]) as a, h5py.File(sys.argv[2]) as b:
    for c in ["targetid", "mse", "recon_logprob", "nof", "latent_mu", "rank_combined"]:
        assert np.array_equal(a[c][()], b[c][()]), c
print("same catalogue")
PY

echo "== 4. SIGTERM outside training ends the process"
"$specvae" ingest --input "$work/survey" --out "$work/e.h5" "${common[@]}" --set ingest.chunk_rows=8 > "$work/log7" 2>&1 &
pid=$!
sleep 0.3
kill -TERM "$pid" 2>/dev/null || true
rc=0; wait "$pid" || rc=$?
[[ $rc -eq 0 || $rc -eq 143 ]] || fail "ingest after SIGTERM: exit code $rc (expected 143, or 0 if it had finished)" "$work/log7"
echo "ingest after SIGTERM: exit code $rc"
echo "PASS"
