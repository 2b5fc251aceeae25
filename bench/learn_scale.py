#!/usr/bin/env python3
"""Time and peak memory of `specvae learn` on a large synthetic catalogue.

Writes a catalogue.h5 with N rows (10-d latent means: a blob of ordinary objects and two small
far clusters, "interesting" and "junk", with high scores), a labels CSV with L labels drawn
from the two clusters, then runs `specvae learn` under /usr/bin/time and prints wall time, peak
RSS, rows/s, and how many of the first 1,000 unlabelled rows of the list are interesting.

Usage: bench/learn_scale.py --specvae build/src/specvae [--rows 1000000] [--labels 200]
"""
import argparse, csv, os, re, subprocess, tempfile, time

import h5py
import numpy as np


def write_catalogue(path, rows, seed=1):
    rng = np.random.default_rng(seed)
    n_each = max(1, rows // 200)  # 0.5% interesting, 0.5% junk
    kind = np.zeros(rows, np.int8)
    kind[:n_each] = 1
    kind[n_each:2 * n_each] = 2
    mu = rng.normal(size=(rows, 10)).astype(np.float32)
    mu[kind == 1, 0] += 8
    mu[kind == 2, 0] -= 8
    nof = -1 - rng.uniform(0, 0.3, rows)
    nof[kind > 0] = -3 - rng.uniform(0, 1, (kind > 0).sum())
    tid = np.arange(rows, dtype=np.int64) + 10**9
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = np.bytes_("specvae catalogue")
        f.attrs["n_rows"] = np.int64(rows)
        f.attrs["latent_dim"] = np.int64(10)
        f["targetid"] = tid
        f["latent_mu"] = mu
        f["nof"] = nof
    return tid, kind


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--specvae", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--labels", type=int, default=200)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tid, kind = write_catalogue(os.path.join(d, "catalogue.h5"), a.rows)
        rng = np.random.default_rng(2)
        pick = rng.choice(np.flatnonzero(kind > 0), size=min(a.labels, int((kind > 0).sum())), replace=False)
        with open(os.path.join(d, "labels.csv"), "w") as f:
            f.write("targetid,label\n")
            for i in pick:
                f.write(f"{tid[i]},{5 if kind[i] == 1 else 0}\n")
        t0 = time.time()
        r = subprocess.run(["/usr/bin/time", "-v", a.specvae, "learn", "--catalogue", d, "--labels",
                            os.path.join(d, "labels.csv"), "--out", os.path.join(d, "out")],
                           capture_output=True, text=True)
        wall = time.time() - t0
        if r.returncode != 0:
            raise SystemExit(r.stdout + r.stderr)
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1)) / 1024
        interesting, seen = 0, 0
        kind_of = dict(zip(tid.tolist(), kind.tolist()))
        with open(os.path.join(d, "out", "learn_scores.csv")) as f:
            for row in csv.DictReader(f):
                if row["human_label"] != "-1":
                    continue
                seen += 1
                interesting += kind_of[int(row["targetid"])] == 1
                if seen == 1000:
                    break
        print(f"rows {a.rows}  labels {len(pick)}  wall {wall:.1f} s  ({a.rows / wall:,.0f} rows/s)  "
              f"peak RSS {rss:,.0f} MiB  interesting among the first 1,000 unlabelled: {interesting}")


if __name__ == "__main__":
    main()
