#!/usr/bin/python3
"""Scoring throughput side by side: `specvae score` (its model pass: encode, decode at mu for
the weighted MSE, one sampled decode for the reconstruction log-probability) against the same
computation in PyTorch eager mode, same architecture (the paper's 1000-800-600-500-300-(10)),
same batch, same thread count.

Method: a synthetic dataset of N rows is written in specvae's dataset schema; a checkpoint of
the paper's architecture comes from one `specvae train` epoch on 512 rows of it (the weights
do not change the cost); `specvae score` runs with score.recon_samples=1 and its logged model
time gives spectra/s (one run after one warm-up run). PyTorch: torch.set_num_threads(T),
inference mode, one warm-up pass then the median of 3 passes over the same N rows.
Usage: /usr/bin/python3 bench/score_vs_pytorch.py SPECVAE [--rows 16384] [--batch 4096] [--threads 2]
"""
import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time

import h5py
import numpy as np


def write_dataset(path, n, bins=1000, seed=3):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, bins, dtype=np.float32)
    flux = (1 + 0.3 * rng.random((n, 1), dtype=np.float32)) * (0.5 + t) + 0.05 * rng.standard_normal((n, bins), dtype=np.float32)
    flux /= np.linalg.norm(flux, axis=1, keepdims=True)
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = np.bytes_("specvae-dataset")
        f.attrs["schema_version"] = np.int64(1)
        f.attrs["n_bins"] = np.int64(bins)
        for k in ("config", "config_hash", "dataset_hash", "code_version"):
            f.attrs[k] = np.bytes_("bench")
        f["flux"] = flux
        f["ivar"] = np.full((n, bins), 1e4, np.float32)
        f["mask"] = np.zeros((n, bins), np.uint8)
        f["wave"] = np.linspace(3602, 7554, bins)
        f["targetid"] = np.arange(n, dtype=np.int64)
        f["z"] = np.full(n, 0.1)
        f.create_dataset("spectype", data=np.array([b"GALAXY"] * n, dtype="S6"))
        f["snr"] = np.full(n, 10, np.float32)
        f["split"] = (np.arange(n) % 4 == 0).astype(np.uint8)
        f["ra"] = np.zeros(n)
        f["dec"] = np.zeros(n)
    return flux


def torch_rate(flux, batch, threads):
    import torch
    torch.set_num_threads(threads)
    enc = torch.nn.Sequential(torch.nn.Linear(1000, 800), torch.nn.ReLU(), torch.nn.Linear(800, 600), torch.nn.ReLU(),
                              torch.nn.Linear(600, 500), torch.nn.ReLU(), torch.nn.Linear(500, 300), torch.nn.ReLU(),
                              torch.nn.Linear(300, 20))
    dec = torch.nn.Sequential(torch.nn.Linear(10, 300), torch.nn.ReLU(), torch.nn.Linear(300, 500), torch.nn.ReLU(),
                              torch.nn.Linear(500, 600), torch.nn.ReLU(), torch.nn.Linear(600, 800), torch.nn.ReLU(),
                              torch.nn.Linear(800, 1000))
    x_all = torch.from_numpy(flux)
    w_all = torch.full_like(x_all, 1e4)

    def one_pass():
        with torch.inference_mode():
            for b in range(0, len(x_all), batch):
                x, w = x_all[b:b + batch], w_all[b:b + batch]
                h = enc(x)
                mu, lv = h[:, :10], h[:, 10:]
                mse = (w * (x - dec(mu)) ** 2).mean(1)
                z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
                logp = -0.5 * (w * (x - dec(z)) ** 2).sum(1, dtype=torch.float64)
                _ = (mse.sum().item(), logp.sum().item())

    one_pass()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        one_pass()
        times.append(time.perf_counter() - t0)
    return len(x_all) / statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("specvae")
    ap.add_argument("--rows", type=int, default=16384)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    with tempfile.TemporaryDirectory() as tmp:
        flux = write_dataset(os.path.join(tmp, "big.h5"), a.rows)
        write_dataset(os.path.join(tmp, "small.h5"), 512)
        sets = ["--set", f"train.threads={a.threads}", "--set", "train.epochs=1", "--set", "score.recon_samples=1",
                "--set", f"score.batch_size={a.batch}", "--log-level", "info"]
        subprocess.run([a.specvae, "train", "--data", os.path.join(tmp, "small.h5"), "--out", os.path.join(tmp, "t")] + sets,
                       check=True, capture_output=True, env=env)
        rates = []
        for _ in range(2):  # warm-up, then the measured run
            r = subprocess.run([a.specvae, "score", "--data", os.path.join(tmp, "big.h5"), "--model",
                                os.path.join(tmp, "t"), "--out", os.path.join(tmp, "s")] + sets,
                               check=True, capture_output=True, text=True, env=env)
            m = re.search(r"model ([0-9.]+) s \(([0-9]+) spectra/s", r.stdout + r.stderr)
            rates.append(float(m.group(2)))
        ours = rates[-1]
    theirs = torch_rate(flux, a.batch, a.threads)
    print("| rows | batch | threads | specvae spectra/s | PyTorch spectra/s | ratio |")
    print("|---|---|---|---|---|---|")
    print(f"| {a.rows} | {a.batch} | {a.threads} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f}x |")


if __name__ == "__main__":
    main()
