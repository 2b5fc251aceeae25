#!/usr/bin/python3
"""LOF side by side: scikit-learn's LocalOutlierFactor(n_neighbors=20) and specvae's LOF
(bench/bench_lof_file) on the same points, same NOF checked (max |ΔNOF|), wall and CPU time.

Worst case: a 10-d Gaussian mixture (20 overlapping components; k-d trees prune poorly).
With --latent CATALOGUE.h5 the latent means of a trained model are used instead.
Usage: /usr/bin/python3 bench/lof_vs_sklearn.py BENCH_LOF_FILE N [N ...] [--methods kdtree,bruteforce]
       [--threads 2] [--skip-sklearn-above N] [--latent catalogue.h5]
Prints one markdown row per (N, method); run with the same OMP/BLAS settings for both sides.
scikit-learn gets the same threads as specvae (n_jobs = --threads: its tree queries run in
that many threads), so the wall-time ratio compares like with like; CPU seconds are printed
for both sides too.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np


def mixture(n, seed=1, d=10, comps=20):
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 2, size=(comps, d))
    lab = rng.integers(0, comps, n)
    s = rng.uniform(0.3, 1.5, comps)
    return (c[lab] + rng.normal(size=(n, d)) * s[lab][:, None]).astype(np.float32)


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("sizes", type=int, nargs="+")
    ap.add_argument("--methods", default="kdtree")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-sklearn-above", type=int, default=10**12)
    ap.add_argument("--latent", default="")
    a = ap.parse_args()
    from sklearn.neighbors import LocalOutlierFactor

    print("| data | N | method | specvae wall s | specvae CPU s | sklearn wall s | sklearn CPU s | speed-up (wall) | max abs dNOF |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in a.sizes:
        if a.latent:
            import h5py
            with h5py.File(a.latent) as f:
                X = f["latent_mu"][:n].astype(np.float32)
            data = "latent means"
        else:
            X = mixture(n)
            data = "10-d Gaussian mixture"
        n = len(X)
        sk_wall = sk_cpu = float("nan")
        nof_ref = None
        # scikit-learn's result and timing are cached per data set (they take minutes at 1M).
        cache = os.path.join(tempfile.gettempdir(), f"specvae_lof_bench_{data.replace(' ', '_')}_{n}_j{a.threads}.npz")
        if os.path.exists(cache) and not a.latent:
            c = np.load(cache)
            nof_ref, sk_wall, sk_cpu = c["nof"], float(c["wall"]), float(c["cpu"])
        elif n <= a.skip_sklearn_above:
            c0, t0 = time.process_time() + cpu_children(), time.perf_counter()
            nof_ref = LocalOutlierFactor(n_neighbors=20, n_jobs=a.threads).fit(X.astype(np.float64)).negative_outlier_factor_
            sk_wall, sk_cpu = time.perf_counter() - t0, time.process_time() + cpu_children() - c0
            np.savez(cache, nof=nof_ref, wall=sk_wall, cpu=sk_cpu)
        with tempfile.TemporaryDirectory() as tmp:
            pts, out = os.path.join(tmp, "x.f32"), os.path.join(tmp, "nof.f64")
            X.tofile(pts)
            for m in a.methods.split(","):
                c0, t0 = cpu_children(), time.perf_counter()
                res = subprocess.run([a.binary, pts, str(n), str(X.shape[1]), "20", m, str(a.threads), out],
                                     check=True, capture_output=True, text=True)
                wall, cpu = time.perf_counter() - t0, cpu_children() - c0
                info = json.loads(res.stdout.strip().splitlines()[-1])
                nof = np.fromfile(out)
                dnof = float(np.abs(nof - nof_ref).max()) if nof_ref is not None else float("nan")
                if nof_ref is not None and not dnof <= 1e-4:
                    print(f"NOF differs from scikit-learn: {dnof}", file=sys.stderr)
                    sys.exit(1)
                print(f"| {data} | {n} | {m} ({a.threads} thr) | {wall:.2f} (LOF {info['total_s']:.2f}) | {cpu:.2f} | "
                      f"{sk_wall:.2f} | {sk_cpu:.2f} | {sk_wall / wall:.2f}x | {dnof:.2g} |", flush=True)


if __name__ == "__main__":
    main()
