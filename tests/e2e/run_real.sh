#!/bin/bash
# `specvae run` on real DESI files as they sit in a DESI-style tree (run.input), never touching
# them: the two real coadd/redrock pairs of ../shared/data/desi are laid out as
# healpix/sv1/bright/806/80613/ and tiles/special/27247/; run finds both pairs recursively, has
# no simulate stage and writes no survey folder, and the catalogue holds the two real
# TARGETIDs with their SURVEY, PROGRAM and HEALPix pixel. A second run skips ingest; a text file listing the two coadds gives the same rows;
# the coadds without their redrock files and a zcatalog (run.zcatalog) give the same redshifts.
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

# Redshifts from a zcatalog instead of the redrock files: the coadds alone in another tree, and
# the two real REDSHIFTS rows (with a row for a target in neither coadd) in one ZCATALOG HDU.
mkdir -p "$work/tree_z/a" "$work/tree_z/b"
cp "$data"/coadd-4-80613-thru20210324.fits "$work/tree_z/a/"
cp "$data"/coadd-special-dark-27247.fits "$work/tree_z/b/"
"$python" - "$data" "$work/zcatalog.fits" <<'PY'
import sys
import numpy as np
from astropy.io import fits
from astropy.table import Table, vstack
data, out = sys.argv[1], sys.argv[2]
keep = ["TARGETID", "Z", "ZERR", "ZWARN", "SPECTYPE", "SUBTYPE", "DELTACHI2"]
rows = [Table.read(f"{data}/{f}", hdu="REDSHIFTS")[keep]
        for f in ["redrock-4-80613-thru20210324.fits", "redrock-special-dark-27247.fits"]]
other = rows[0].copy()
other["TARGETID"] = [12345]
other["Z"] = [0.1]
z = vstack([other] + rows)
fits.HDUList([fits.PrimaryHDU(), fits.table_to_hdu(z)]).writeto(out)
with fits.open(out, mode="update") as h:
    h[1].name = "ZCATALOG"
PY
run "$@" "$specvae" run --set run.out_dir="$work/out_zcat" --set "run.input=[\"$work/tree_z\"]" \
  --set run.zcatalog="$work/zcatalog.fits" "${common[@]}" > "$work/log4" 2>&1 || { cat "$work/log4"; exit 1; }
grep -q "ingest: 2 coadd files" "$work/log4" || { echo "zcatalog run: the coadds were not found"; cat "$work/log4"; exit 1; }

"$python" - "$work/out" "$work/out_list" "$work/out_zcat" <<'PY'
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
# The zcatalog run found the same redshifts for the same targets as the redrock run.
with h5py.File(f"{sys.argv[1]}/catalogue/catalogue.h5") as a, h5py.File(f"{sys.argv[3]}/catalogue/catalogue.h5") as b:
    za = dict(zip(a["targetid"][:].tolist(), a["z"][:].tolist()))
    zb = dict(zip(b["targetid"][:].tolist(), b["z"][:].tolist()))
    assert za == zb, (za, zb)
print("real survey ok: the two real targets in all three catalogues, the same redshifts from the zcatalog")
PY
echo "e2e real ok"
