#!/bin/bash
# `specvae run` on real DESI files as they sit in a DESI-style tree (run.input), never touching
# them: the two real coadd/redrock pairs of ../shared/data/desi are laid out as
# healpix/sv1/bright/806/80613/ and tiles/special/27247/; run finds both pairs recursively, has
# no simulate stage and writes no survey folder, and the catalogue holds the two real
# TARGETIDs with their SURVEY, PROGRAM and HEALPix pixel. A second run skips ingest; a text file listing the two coadds gives the same rows.
# Exit 77 (CTest: skipped) where the real files are absent.
# Usage: run_real.sh SPECVAE MPIEXEC PYTHON DATA_DIR WORKDIR [MPIEXEC FLAGS...]
set -euo pipefail
specvae=$1; mpiexec=$2; python=$3; data=$4; work=$5; shift 5
if [[ ! -f "$data/coadd-4-80613-thru20210324.fits" || ! -f "$data/redrock-special-dark-27247.fits" ]]; then
  echo "SKIPPED: the real DESI files are not in $data"; exit 77
fi
[[ -d "$work" ]] && chmod -R u+w "$work"
rm -rf "$work"; mkdir -p "$work/tree/healpix/sv1/bright/806/80613" "$work/tree/tiles/special/27247"
cp "$data"/coadd-4-80613-thru20210324.fits "$data"/redrock-4-80613-thru20210324.fits "$work/tree/healpix/sv1/bright/806/80613/"
cp "$data"/coadd-special-dark-27247.fits "$data"/redrock-special-dark-27247.fits "$work/tree/tiles/special/27247/"
chmod -R a-w "$work/tree"  # read-only, as a survey on a shared file system is
before=$(find "$work/tree" -type f -exec md5sum {} + | sort)
common=(--set ingest.z_max=0.5 --set ingest.snr_min=0 --set train.min_steps=0 --set train.epochs=2
        --set train.batch_size=2 --set "model.encoder_layers=[16]" --set "model.decoder_layers=[16]"
        --set train.threads=1)
run() { "$mpiexec" -np 2 "$@"; }

run "$@" "$specvae" run --set run.out_dir="$work/out" --set "run.input=[\"$work/tree\"]" "${common[@]}" \
  > "$work/log1" 2>&1 || { cat "$work/log1"; exit 1; }
grep -q "no simulate stage" "$work/log1" || { echo "simulate was not left out"; cat "$work/log1"; exit 1; }
grep -q "ingest: 2 coadd files" "$work/log1" || { echo "the two pairs were not found below the tree"; cat "$work/log1"; exit 1; }
[[ ! -e "$work/out/survey" ]] || { echo "run made a survey folder"; exit 1; }
[[ "$(find "$work/tree" -type f -exec md5sum {} + | sort)" == "$before" ]] || { echo "the real files changed"; exit 1; }

run "$@" "$specvae" run --set run.out_dir="$work/out" --set "run.input=[\"$work/tree\"]" "${common[@]}" \
  > "$work/log2" 2>&1 || { cat "$work/log2"; exit 1; }
grep -q "ingest is complete" "$work/log2" || { echo "ingest was redone on unchanged files"; cat "$work/log2"; exit 1; }

# The DR1 BGS Bright preset, pointed at the tree: it runs (no simulate stage), and as neither file
# is a main-survey BGS Bright target it refuses with the counts by reason, writing nothing.
configs="$(dirname "$0")/../../configs"
if run "$@" "$specvae" run -c "$configs/desi-dr1-bgs-bright.toml" --set run.out_dir="$work/out_bgs" \
    --set "run.input=[\"$work/tree\"]" > "$work/log_bgs" 2>&1; then
  echo "the BGS Bright preset accepted non-BGS spectra"; cat "$work/log_bgs"; exit 1
fi
grep -q "no simulate stage" "$work/log_bgs" && grep -q "no spectrum passed the selection" "$work/log_bgs" &&
  grep -Eq "rejected: .*(target|objtype|zwarn|fiberstatus)" "$work/log_bgs" ||
  { echo "the preset's refusal does not say why"; cat "$work/log_bgs"; exit 1; }
[[ ! -e "$work/out_bgs/dataset.h5" ]] || { echo "a dataset was written"; exit 1; }

find "$work/tree" -name 'coadd-*.fits' | sort > "$work/inputs.txt"
run "$@" "$specvae" run --set run.out_dir="$work/out_list" --set "run.input=[\"$work/inputs.txt\"]" "${common[@]}" \
  > "$work/log3" 2>&1 || { cat "$work/log3"; exit 1; }

"$python" - "$work/out" "$work/out_list" <<'PY'
import sys, h5py, numpy as np
want = {39633345008634465, 39089837499744649}
for d in sys.argv[1:]:
    with h5py.File(f"{d}/catalogue/catalogue.h5") as c:
        got = set(int(t) for t in c["targetid"][:])
        assert got == want, (d, got)
        assert np.isfinite(c["mse"][:]).all()
        # The DESI columns: the healpix coadd's header says special/dark/27247; the tile coadd
        # (cumulative, tile 80613) has no HEALPix pixel.
        rows = {(int(h), s.decode(), p.decode()) for h, s, p in zip(c["healpix"][:], c["survey"][:], c["program"][:])}
        assert (27247, "special", "dark") in rows and any(h == -1 for h, _, _ in rows), rows
        assert (c["deltachi2"][:] > 0).all() and c["zwarn"].dtype == np.int64, c["deltachi2"][:]
print("real survey ok: the two real targets in both catalogues")
PY
echo "e2e real ok"
