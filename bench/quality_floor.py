#!/usr/bin/python3
"""What a linear model reaches on a specvae dataset: PCA on the training fluxes, validation
spectra of normal objects (truth table: anomaly == normal) of one SPECTYPE projected on the
first k eigenspectra, and paper Eq. 6 ((1/M) Σ w (x − x̂)², masked bins weight 0) of the
residual, by median S/N bin. The noise-limited value is 1; a VAE with a k-d latent should reach
about this number.

Usage: /usr/bin/python3 bench/quality_floor.py DATASET.h5 TRUTH.csv [--k 10 20] [--spectype GALAXY]
"""
import argparse
import csv

import h5py
import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dataset")
    p.add_argument("truth")
    p.add_argument("--k", type=int, nargs="+", default=[10, 20])
    p.add_argument("--spectype", default="GALAXY")
    a = p.parse_args()
    with h5py.File(a.dataset, "r") as f:
        x = f["flux"][:].astype(np.float64)
        w = f["ivar"][:].astype(np.float64) * (f["mask"][:] == 0)
        split = f["split"][:]
        tid = f["targetid"][:]
        snr = f["snr"][:]
        st = np.array([s.decode() if isinstance(s, bytes) else str(s) for s in f["spectype"][:]])
    kind = {int(r["targetid"]): r["anomaly"] for r in csv.DictReader(open(a.truth))}
    normal = np.array([kind.get(int(t)) == "normal" for t in tid])
    train = split == 0
    val = np.where((split == 1) & normal & (st == a.spectype))[0]
    mu = x[train].mean(0)
    _, _, vt = np.linalg.svd(x[train] - mu, full_matrices=False)
    print(f"{len(val)} validation {a.spectype} spectra (normal); PCA from {train.sum()} training rows")
    print("| model | mean | median | S/N < 10 | 10-20 | > 20 |\n|---|---|---|---|---|---|")
    for k in a.k:
        v = vt[:k]
        for weighted in (False, True):
            r = np.empty(len(val))
            for n, i in enumerate(val):
                d = x[i] - mu
                if weighted:
                    sw = np.sqrt(w[i])
                    c, *_ = np.linalg.lstsq(v.T * sw[:, None], d * sw, rcond=None)
                else:
                    c = v @ d
                res = d - v.T @ c
                r[n] = np.mean(w[i] * res * res)
            s = snr[val]
            cells = [f"{r[(s >= lo) & (s < hi)].mean():.2f}" if ((s >= lo) & (s < hi)).any() else "-"
                     for lo, hi in ((0, 10), (10, 20), (20, np.inf))]
            name = f"PCA, {k} components, {'ivar-weighted fit' if weighted else 'unweighted projection'}"
            print(f"| {name} | {r.mean():.2f} | {np.median(r):.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
