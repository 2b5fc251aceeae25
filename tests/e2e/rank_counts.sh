#!/bin/bash
# The catalogue does not depend on the rank count: a small survey is simulated, ingested and
# a model of the paper's widths trained once (2 ranks), then `specvae score` + `merge` run on
# 1, 2 and 3 ranks with several passes per rank (score.batch_size below the rows), and every
# column of the three catalogue.h5 files must be the same bits. CTest runs it once with the
# default GEMM and once with SPECVAE_GEMM=onednn ONEDNN_MAX_CPU_ISA=AVX2 (Perlmutter's ISA),
# whose kernels round an element differently when the rows around it change.
# Usage: rank_counts.sh SPECVAE MPIEXEC PYTHON WORKDIR [MPIEXEC FLAGS...]
set -euo pipefail
specvae=$1; mpiexec=$2; python=$3; work=$4; shift 4
rm -rf "$work"; mkdir -p "$work"
common=(--set simulate.n_spectra=900 --set simulate.spectra_per_file=300 --set train.batch_size=128
        --set train.epochs=1 --set train.threads=1 --set score.recon_samples=3 --set score.batch_size=160
        --set merge.top_fraction=0.05 --set merge.top_n_csv=10 --set train.min_steps=0)
"$mpiexec" -np 2 "$@" "$specvae" run --set run.out_dir="$work/run" "${common[@]}" \
  --set 'run.stages=["simulate","ingest","train"]' > "$work/log_run" 2>&1 || { cat "$work/log_run"; exit 1; }
for np in 1 2 3; do
  for threads in 1 2; do
    [[ $np -eq 1 || $threads -eq 1 ]] || continue
    tag=np${np}_t${threads}
    "$mpiexec" -np "$np" "$@" "$specvae" "${common[@]}" --set train.threads=$threads score --data "$work/run/dataset.h5" \
      --model "$work/run/train" --out "$work/score_$tag" > "$work/log_score_$tag" 2>&1 || { cat "$work/log_score_$tag"; exit 1; }
    "$specvae" "${common[@]}" merge --shards "$work/score_$tag" --out "$work/cat_$tag" > "$work/log_merge_$tag" 2>&1 \
      || { cat "$work/log_merge_$tag"; exit 1; }
  done
done
"$python" - "$work" <<'PY'
import sys
import h5py, numpy as np
w = sys.argv[1]
ref = h5py.File(f"{w}/cat_np1_t1/catalogue.h5", "r")
for tag in ("np1_t2", "np2_t1", "np3_t1"):
    other = h5py.File(f"{w}/cat_{tag}/catalogue.h5", "r")
    assert set(ref.keys()) == set(other.keys()), (tag, set(ref.keys()) ^ set(other.keys()))
    for name, ds in ref.items():
        if not isinstance(ds, h5py.Dataset):
            continue
        a, b = ds[()], other[name][()]
        assert np.array_equal(a, b), f"{tag}: column {name} differs from 1 rank"
    print(f"{tag}: {len(ref.keys())} columns identical to 1 rank, 1 thread")
PY
