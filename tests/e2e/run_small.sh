#!/bin/bash
# `specvae run` end to end on 2 ranks with a small survey (600 spectra, a small model):
#  1. a 1-epoch run writes the catalogue (HDF5, FITS, CSV) and prints the detection table;
#  2. the same run asked for 2 epochs (and train.backend named instead of auto: how it runs,
#     not what it computes) skips simulate/ingest and resumes training without a warning;
#  3. a fresh 2-epoch run gives the identical catalogue (resume is exact);
#  4. the catalogue is complete and consistent across its three forms (checked in python);
#  5. `specvae learn` re-ranks it from a labels file (unlabelled first, every row once);
#  6. the run wrote report.html, and `specvae report` writes one whose labelling view follows
#     learn's order; both open in a headless browser without a script error (when there is one);
#  7. `specvae run` with a learn stage (learn.labels) re-ranks and its report follows learn;
#  8. a survey file skipped as bad is reported at the end; once replaced, the next run ingests
#     it again and trains from scratch (no resume on other rows);
#  9. a dataset damaged after its stage completed is made again, not read;
# 10. a run with other settings killed mid-train leaves no marker that skips training next
#     time, and while it runs a second run into its folder is refused with the holder named;
# 11. a stage command is refused while another writes the same output; a merge killed between
#     its journal and its renames is finished by the next reader (the three catalogue files come
#     from one merge); a symlink planted at the old fixed temporary name is never followed;
# 12. the ranks of a job whose launcher is killed stop within half a second.
# Usage: run_small.sh SPECVAE MPIEXEC PYTHON WORKDIR [MPIEXEC FLAGS...]
set -euo pipefail
specvae=$1; mpiexec=$2; python=$3; work=$4; shift 4
rm -rf "$work"; mkdir -p "$work"
common=(--set simulate.n_spectra=600 --set simulate.spectra_per_file=200 --set train.batch_size=64
        --set "model.encoder_layers=[64,32]" --set "model.decoder_layers=[32,64]" --set train.threads=1
        --set score.recon_samples=4 --set merge.top_fraction=0.05 --set merge.top_n_csv=10
        --set train.min_steps=0 --set train.schedule=plateau)  # plateau: extending 1 → 2 epochs resumes exactly
run() { "$mpiexec" -np 2 "$@"; }
# A 2-rank train into OUT that runs until killed; returns once it is past epoch 2, with
# mpiexec's pid in $launcher. Usage: start_long_train OUT LOG [MPIEXEC FLAGS...]
start_long_train() {
  local out=$1 log=$2
  shift 2
  "$mpiexec" -np 2 "$@" "$specvae" train --data "$work/b/dataset.h5" --out "$out" "${common[@]}" \
    --set train.epochs=100000 > "$log" 2>&1 &
  launcher=$!
  for _ in $(seq 1 600); do grep -q "epoch 2/" "$log" && break; sleep 0.1; done
  grep -q "epoch 2/" "$log" || { echo "the long train did not start"; cat "$log"; exit 1; }
}

echo "== 1. one epoch"
run "$@" "$specvae" run --set run.out_dir="$work/a" --set train.epochs=1 "${common[@]}" > "$work/log1" 2>&1 || { cat "$work/log1"; exit 1; }
grep -q "recall in the top 5%" "$work/log1" || { echo "no detection table"; cat "$work/log1"; exit 1; }
grep -q "catalogue: $work/a/catalogue/catalogue.h5" "$work/log1" || { echo "no catalogue path"; exit 1; }
grep -q "report: $work/a/report.html" "$work/log1" || { echo "no report"; cat "$work/log1"; exit 1; }

echo "== 2. two epochs: resume"
run "$@" "$specvae" run --set run.out_dir="$work/a" --set train.epochs=2 "${common[@]}" --set train.backend=cpu > "$work/log2" 2>&1 || { cat "$work/log2"; exit 1; }
grep -q "simulate is complete" "$work/log2" || { echo "simulate was not skipped"; cat "$work/log2"; exit 1; }
grep -q "ingest is complete" "$work/log2" || { echo "ingest was not skipped"; exit 1; }
grep -q "resuming training" "$work/log2" || { echo "training did not resume"; cat "$work/log2"; exit 1; }
grep -q "epoch 2/2" "$work/log2" || { echo "no second epoch"; exit 1; }
if grep -q "epoch 1/2" "$work/log2"; then echo "epoch 1 was trained again"; exit 1; fi
if grep -q "different config" "$work/log2"; then echo "an execution key counted as another config"; cat "$work/log2"; exit 1; fi

echo "== 3. fresh two-epoch run"
run "$@" "$specvae" run --set run.out_dir="$work/b" --set train.epochs=2 "${common[@]}" > "$work/log3" 2>&1 || { cat "$work/log3"; exit 1; }

echo "== 4. check the catalogues"
"$python" - "$work/a" "$work/b" <<'PY'
import sys
import h5py, numpy as np
from astropy.table import Table
a, b = sys.argv[1], sys.argv[2]
with h5py.File(f"{a}/dataset.h5") as d:
    n = d["targetid"].shape[0]
    tid = d["targetid"][:]
with h5py.File(f"{a}/catalogue/catalogue.h5") as ca, h5py.File(f"{b}/catalogue/catalogue.h5") as cb:
    assert ca.attrs["n_rows"] == n and ca["mse"].shape == (n,), (ca.attrs["n_rows"], n)
    assert (ca["targetid"][:] == tid).all()
    for col in ["mse", "recon_logprob", "nof", "pca_mse", "combined", "rank_nof", "latent_mu"]:
        assert np.array_equal(ca[col][:], cb[col][:]), f"resumed and fresh runs differ in {col}"
    assert np.isfinite(ca["mse"][:]).all() and np.isfinite(ca["nof"][:]).all()
    assert sorted(ca["rank_mse"][:]) == list(range(1, n + 1))
    assert "detection_table" in ca.attrs and "recall_" in "".join(ca.attrs.keys())
    nflag = int(ca.attrs["n_flagged"])
    assert nflag == int(np.ceil(0.05 * n - 1e-9)) and ca["flag_nof"][:].sum() == nflag
    t = Table.read(f"{a}/catalogue/catalogue.fits", hdu="CATALOG")
    assert len(t) == n and (np.asarray(t["TARGETID"]) == tid).all()
    # The header says what wrote it, when, and what each column is.
    from astropy.io import fits
    h = fits.getheader(f"{a}/catalogue/catalogue.fits", "CATALOG")
    assert h["SPECVAE"] and h["DATE"] and "TARGETID" in h["TCOMM1"], repr(h)
    assert all(h.get(f"TCOMM{i}") for i in range(1, h["TFIELDS"] + 1)), "a column without its description"
    assert str(t["RA"].unit) == "deg" and str(t["DEC"].unit) == "deg"
    # The DESI columns users filter on, carried from the coadd and redrock files.
    for col in ["SURVEY", "PROGRAM", "HEALPIX", "ZWARN", "DELTACHI2", "COADD_FIBERSTATUS"]:
        assert col in t.colnames, col
    assert set(np.char.strip(np.asarray(t["SURVEY"]).astype(str))) == {"sv3"}, set(t["SURVEY"])
    assert (np.asarray(t["HEALPIX"]) >= 0).all() and (np.asarray(ca["zwarn"][:]) == np.asarray(t["ZWARN"])).all()
    keys = set(zip(tid.tolist(), ca["survey"][:].tolist(), ca["program"][:].tolist()))
    assert len(keys) == n, "a (TARGETID, SURVEY, PROGRAM) repeated in the catalogue"
    assert np.array_equal(np.asarray(t["NOF"]), ca["nof"][:])
    assert np.array_equal(np.asarray(t["PCA_MSE"]), ca["pca_mse"][:]) and np.isfinite(ca["pca_mse"][:]).all()
    assert "yardstick_table" in ca.attrs and ca["pca_eigenspectra"].shape == (ca.attrs["pca_components"], 1000)
# The run's manifest: each stage's outputs with the configuration that produced them. Run a
# trained 1 epoch and run 2 resumed to 2: simulate and ingest come from run 1's config, the
# rest from run 2's, and each config's TOML is kept.
import json, os, tomllib
m = json.load(open(f"{a}/run-manifest.json"))
st = m["stages"]
assert set(st) == {"simulate", "ingest", "train", "score", "merge", "report"}, set(st)
cur = open(f"{a}/config.toml").readline().split()[-1]
assert st["train"]["config_hash"] == cur and st["ingest"]["config_hash"] != cur, st
assert tomllib.loads(m["configs"][st["ingest"]["config_hash"]])["train"]["epochs"] == 1
assert tomllib.loads(m["configs"][cur])["train"]["epochs"] == 2
assert st["ingest"]["outputs"] == [{"path": "dataset.h5", "bytes": os.path.getsize(f"{a}/dataset.h5")}]
assert {o["path"] for o in st["merge"]["outputs"]} == {"catalogue/catalogue.h5", "catalogue/catalogue.fits", "catalogue/top_outliers.csv"}
assert any(o["path"] == "survey/truth.csv" for o in st["simulate"]["outputs"])
lines = open(f"{a}/catalogue/top_outliers.csv").read().splitlines()
assert lines[0].startswith("by,rank,targetid") and len(lines) == 1 + 5 * min(10, n), len(lines)
print(f"catalogue ok: {n} rows")
# Labels for step 5: the 10 most anomalous by NOF, the first 5 marked interesting.
order = np.argsort(np.asarray(h5py.File(f"{a}/catalogue/catalogue.h5")["rank_nof"][:]))
with open(f"{a}/labels.csv", "w") as f:
    f.write("targetid,label\n")
    for j, i in enumerate(order[:10]):
        f.write(f"{tid[i]},{5 if j < 5 else 0}\n")
PY

echo "== 5. learn from labels"
run "$@" "$specvae" learn --catalogue "$work/a/catalogue" --labels "$work/a/labels.csv" --out "$work/a/learn" > "$work/log5" 2>&1 || { cat "$work/log5"; exit 1; }
grep -q "10 labelled" "$work/log5" || { echo "learn did not read the labels"; cat "$work/log5"; exit 1; }
"$python" - "$work/a" <<'PY'
import sys, csv
import h5py
a = sys.argv[1]
tid = set(int(t) for t in h5py.File(f"{a}/dataset.h5")["targetid"][:])
rows = list(csv.DictReader(open(f"{a}/learn/learn_scores.csv")))
assert len(rows) == len(tid) and set(int(r["targetid"]) for r in rows) == tid
labels = [int(r["human_label"]) for r in rows]
assert labels.count(-1) == len(rows) - 10 and labels[:len(rows) - 10] == [-1] * (len(rows) - 10), "unlabelled first"
given = dict(l.strip().split(",") for l in open(f"{a}/labels.csv").readlines()[1:])
assert all(given[r["targetid"]] == r["human_label"] for r in rows if r["human_label"] != "-1")
t = [float(r["trained_score"]) for r in rows[:len(rows) - 10]]
assert t == sorted(t, reverse=True), "unlabelled rows not in trained_score order"
# learn's columns in the catalogue, both forms, by catalogue row, the same values as the CSV.
import numpy as np
from astropy.table import Table
with h5py.File(f"{a}/catalogue/catalogue.h5") as c:
    ctid = c["targetid"][:]
    by_tid = {int(r["targetid"]): r for r in rows}
    text = lambda v: v.decode() if isinstance(v, bytes) else v
    assert text(c.attrs["learn_n_labelled"]) == "10" and text(c.attrs["learn_labels"]) == "labels.csv", dict(c.attrs)
    for j in range(len(ctid)):
        r = by_tid[int(ctid[j])]
        assert c["learn_label"][j] == int(r["human_label"]) and c["learn_order"][j] == int(r["order"])
        assert float(f'{c["learn_trained_score"][j]:.9g}') == float(r["trained_score"])
    t = Table.read(f"{a}/catalogue/catalogue.fits", hdu="CATALOG")
    for col in ["learn_label", "learn_order", "learn_trained_score", "learn_predicted_user_score"]:
        assert np.array_equal(np.asarray(t[col.upper()]), c[col][:]), col
    assert t.meta["LEARNSC"] == "nof" and t.meta["LEARNNL"] == "10", t.meta
assert "mse" in csv.DictReader(open(f"{a}/catalogue/top_outliers.csv")).fieldnames
print(f"learn ok: {len(rows)} rows, its columns in the catalogue")
PY

echo "== 6. report with learn's order"
run "$@" "$specvae" report --catalogue "$work/a/catalogue" --learn-scores "$work/a/learn/learn_scores.csv" \
  --truth "$work/a/survey/truth.csv" --out "$work/a/report-learn.html" > "$work/log6" 2>&1 || { cat "$work/log6"; exit 1; }
"$python" - "$work/a" <<'PY'
import sys, csv, json, re
a = sys.argv[1]
html = open(f"{a}/report-learn.html").read()
m = re.search(r'<script type="application/json" id="specvae-data">(.*?)</script>', html, re.S)
d = json.loads(m.group(1))
order = [r["targetid"] for r in csv.DictReader(open(f"{a}/learn/learn_scores.csv"))]
shown = [d["spectra"][str(r)]["targetid"] for r in d["labelling"]["rows"]]
assert shown == order[:len(shown)] and len(shown) > 0, "labelling view not in learn's order"
assert len(d["labelling"]["initial"]) == 10, "the 10 labels are not carried"
print(f"report ok: {len(shown)} spectra in the labelling view, {len(d['spectra'])} in all")
PY
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -n "$browser" ]]; then
  for page in report.html report-learn.html; do
    dom=$("$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$work/chromium" --virtual-time-budget=15000 \
          --dump-dom "file://$work/a/$page#selftest" 2>/dev/null | tr '\n' ' ' | grep -o '<body[^>]*>' || true)
    echo "$page: $dom"
    grep -q 'data-status="ok"' <<<"$dom" && grep -q 'data-selftest="pass"' <<<"$dom" || { echo "$page failed in the browser"; exit 1; }
  done
else
  echo "SKIPPED: no chromium here, the report pages were not opened in a browser"
fi

echo "== 7. specvae run with a learn stage: the report follows it"
cp "$work/a/learn/learn_scores.csv" "$work/learn_cli.csv"
run "$@" "$specvae" run --set run.out_dir="$work/a" --set train.epochs=2 "${common[@]}" --set 'run.stages=["merge","learn","report"]' \
  --set learn.labels="$work/a/labels.csv" > "$work/log7" 2>&1 || { cat "$work/log7"; exit 1; }
grep -q "10 labelled" "$work/log7" || { echo "the learn stage did not run"; cat "$work/log7"; exit 1; }
grep -q '"source":"learn_scores.csv (active-learning order)"' "$work/a/report.html" || { echo "the run's report does not follow learn"; exit 1; }
cmp -s "$work/a/learn/learn_scores.csv" "$work/learn_cli.csv" || { echo "the run's learn stage differs from specvae learn"; exit 1; }
echo "run with learn ok"

echo "== 8. a survey file skipped as bad, then replaced: ingest again, train from scratch"
cp -r "$work/b/survey" "$work/survey_good"
coadd=$(ls "$work/b/survey"/coadd-*.fits | sed -n 2p)
truncate -s $(( $(stat -c %s "$coadd") / 2 )) "$coadd"
run "$@" "$specvae" run --set run.out_dir="$work/b" --set train.epochs=2 "${common[@]}" --set ingest.on_bad_file=skip \
  > "$work/log8" 2>&1 || { cat "$work/log8"; exit 1; }
grep -q "ingest skipped 1 bad input files" "$work/log8" || { echo "the skipped file was not reported"; cat "$work/log8"; exit 1; }
cp "$work/survey_good/$(basename "$coadd")" "$coadd"
run "$@" "$specvae" run --set run.out_dir="$work/b" --set train.epochs=2 "${common[@]}" --set ingest.on_bad_file=skip \
  > "$work/log9" 2>&1 || { cat "$work/log9"; exit 1; }
grep -q "run: ingest done" "$work/log9" || { echo "the replaced file was not ingested"; cat "$work/log9"; exit 1; }
if grep -q "resuming training" "$work/log9"; then echo "training resumed on another dataset"; cat "$work/log9"; exit 1; fi
if grep -q "ingest skipped" "$work/log9"; then echo "a file is still reported skipped"; exit 1; fi
"$python" - "$work/a/catalogue/catalogue.h5" "$work/b/catalogue/catalogue.h5" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:])
assert a["targetid"].shape == b["targetid"].shape, (a["targetid"].shape, b["targetid"].shape)
PY
echo "skip and replace ok"

echo "== 9. a damaged dataset under a complete marker is made again"
truncate -s $(( $(stat -c %s "$work/b/dataset.h5") / 3 )) "$work/b/dataset.h5"
run "$@" "$specvae" run --set run.out_dir="$work/b" --set train.epochs=2 "${common[@]}" --set ingest.on_bad_file=skip \
  > "$work/log10" 2>&1 || { cat "$work/log10"; exit 1; }
grep -q "run: ingest done" "$work/log10" || { echo "the damaged dataset was not made again"; cat "$work/log10"; exit 1; }
echo "damaged dataset ok"

echo "== 10. a run with other settings killed mid-train leaves no marker claiming the old model; while it"
echo "       runs, a second run into its folder is refused; once killed, its lock is gone"
"$mpiexec" -np 2 "$@" "$specvae" run --set run.out_dir="$work/b" --set train.epochs=2 "${common[@]}" \
  --set ingest.on_bad_file=skip --set train.min_steps=100000 --set train.learning_rate=3e-4 > "$work/log11" 2>&1 &
launcher=$!
for _ in $(seq 1 600); do grep -q "epoch 2/" "$work/log11" && break; sleep 0.1; done
grep -q "epoch 2/" "$work/log11" || { echo "the long run did not start training"; cat "$work/log11"; exit 1; }
# A second run into the same folder meanwhile is refused, naming the holder.
if run "$@" "$specvae" run --set run.out_dir="$work/b" --set train.epochs=2 "${common[@]}" > "$work/log11b" 2>&1; then
  echo "a second run wrote the folder of a running one"; cat "$work/log11b"; exit 1
fi
grep -q "another specvae run is writing here (run: host .*, pid [0-9]*" "$work/log11b" \
  || { echo "the refusal does not name the holder"; cat "$work/log11b"; exit 1; }
kill -9 "$launcher" 2>/dev/null || true
pkill -9 -f "run.out_dir=$work/b" 2>/dev/null || true
wait "$launcher" 2>/dev/null || true
sleep 1
run "$@" "$specvae" run --set run.out_dir="$work/b" --set train.epochs=2 "${common[@]}" --set ingest.on_bad_file=skip \
  > "$work/log12" 2>&1 || { cat "$work/log12"; exit 1; }
if grep -q "train is complete" "$work/log12"; then echo "train was skipped after a killed run with other settings"; cat "$work/log12"; exit 1; fi
grep -q "run: train done" "$work/log12" || { echo "train did not run again"; cat "$work/log12"; exit 1; }
grep -q "ingest is complete" "$work/log12" || { echo "ingest (untouched by the killed run) was redone"; cat "$work/log12"; exit 1; }
echo "killed run ok"

echo "== 11. one writer per output; an interrupted merge commit finished by the next reader; no link followed"
start_long_train "$work/t" "$work/log13" "$@"
if run "$@" "$specvae" train --data "$work/b/dataset.h5" --out "$work/t" --overwrite "${common[@]}" > "$work/log13b" 2>&1; then
  echo "a second train wrote the folder of a running one"; cat "$work/log13b"; exit 1
fi
grep -q "another specvae train is writing here (train: host .*, pid [0-9]*" "$work/log13b" \
  || { echo "the train refusal does not name the holder"; cat "$work/log13b"; exit 1; }
kill -9 "$launcher" 2>/dev/null || true
pkill -9 -f -- "--out $work/t" 2>/dev/null || true
wait "$launcher" 2>/dev/null || true
cat="$work/b/catalogue"
echo "precious" > "$work/victim"
ln -s "$work/victim" "$cat/top_outliers.csv.tmp"
old_fits=$(md5sum < "$cat/catalogue.fits")
if SPECVAE_FAULT=commit.apply run "$@" "$specvae" merge --shards "$work/b/score" --out "$cat" --set merge.top_n_csv=7 \
    > "$work/log14" 2>&1; then
  echo "the injected fault did not stop merge"; cat "$work/log14"; exit 1
fi
ls -a "$cat" | grep -q "^.specvae-commit-catalogue.json$" || { echo "no commit journal after the interrupted merge"; ls -a "$cat"; exit 1; }
[[ $(md5sum < "$cat/catalogue.fits") == "$old_fits" ]] || { echo "the interrupted merge changed the old catalogue"; exit 1; }
run "$@" "$specvae" report --catalogue "$cat" --out "$work/r14.html" > "$work/log15" 2>&1 || { cat "$work/log15"; exit 1; }
grep -q "finishing the commit" "$work/log15" || { echo "report did not finish the interrupted commit"; cat "$work/log15"; exit 1; }
if ls -a "$cat" | grep -q "^.staging-\|^.specvae-commit"; then echo "staging left after the commit was finished"; ls -a "$cat"; exit 1; fi
# The new set is whole: top_outliers.csv has 7 rows per score (4 scores + combined), as the new merge asked.
[[ $(grep -c "" "$cat/top_outliers.csv") -eq $(( 1 + 5 * 7 )) ]] || { echo "top_outliers.csv is not the new merge's"; exit 1; }
[[ $(cat "$work/victim") == "precious" ]] || { echo "a planted symlink was followed"; exit 1; }
echo "integrity ok"

echo "== 12. ranks stop when their launcher is killed"
start_long_train "$work/t12" "$work/log16" "$@"
kill -9 "$launcher"
gone=0
for _ in $(seq 1 5); do
  sleep 0.1
  if ! pgrep -f -- "--out $work/t12" > /dev/null; then gone=1; break; fi
done
pkill -9 -f -- "--out $work/t12" 2>/dev/null || true
wait "$launcher" 2>/dev/null || true
[[ $gone -eq 1 ]] || { echo "ranks ran on 0.5 s after their launcher was killed"; exit 1; }
echo "launcher watch ok"
echo "e2e ok"
