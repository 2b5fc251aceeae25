#!/usr/bin/env python3
"""Side-by-side training throughput: specvae vs PyTorch on the same data and threads.

Trains the paper's VAE (1000-800-600-500-300-(10)-300-500-600-800-1000, ReLU, dropout 0.2,
weighted Gaussian loss + KL, Adam 1e-3, batch 512) in PyTorch (Debian's python3-torch) and
with `specvae train` on one synthetic dataset written in specvae's HDF5 schema, and prints
training spectra/s, the ratio and the fraction of the measured SGEMM peak, twice:
  default      each side as a user would run it (no environment set);
  same kernel  both on OpenBLAS's AVX-512 kernel (OPENBLAS_CORETYPE=SkylakeX in those
               commands only; specvae with train.gemm=openblas).
With --paths avx2, the AVX2 path Perlmutter's AMD EPYC 7763 runs, on any x86-64 machine:
  avx2 openblas  both sides on OpenBLAS's Haswell kernel (OPENBLAS_CORETYPE=Haswell) and
                 PyTorch's AVX2 kernels (ATEN_CPU_CAPABILITY=avx2); specvae train.gemm=openblas;
  avx2 onednn    the same, with oneDNN limited to AVX2 (ONEDNN_MAX_CPU_ISA=AVX2, for PyTorch's
                 bundled oneDNN too); specvae train.gemm=onednn.
Method: epoch 1 is warm-up; the median of the remaining epochs' training throughput is
reported. SGEMM peak: torch.mm 2048³ on the same threads and kernel, best of 5.

Usage: bench/train_vs_pytorch.py --specvae build/src/specvae [--rows 8192] [--epochs 4]
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile, time

import h5py
import numpy as np

ARCH = [1000, 800, 600, 500, 300]
LATENT = 10


def flops_per_spectrum():
    sizes = list(zip(ARCH[:-1], ARCH[1:])) + [(300, 2 * LATENT), (LATENT, 300), (300, 500), (500, 600), (600, 800), (800, 1000)]
    f = 0.0
    for i, (a, b) in enumerate(sizes):
        f += 2 * a * b * (2 if i == 0 else 3)  # forward, weight gradient, input gradient (not layer 0)
    return f


def write_dataset(path, rows, seed=1):
    rng = np.random.default_rng(seed)
    wave = np.linspace(3600 + 1.978, 7556 - 1.978, 1000)
    t = (wave - 3600) / 3956
    amp = rng.uniform(0.5, 1.5, (rows, 3)).astype(np.float32)
    flux = (amp[:, :1] * (0.5 + t) + amp[:, 1:2] * np.exp(-0.5 * ((wave - 6563) / 5) ** 2)
            + amp[:, 2:3] * np.exp(-0.5 * ((wave - 5007) / 5) ** 2)).astype(np.float32)
    flux /= np.linalg.norm(flux, axis=1, keepdims=True)
    ivar = rng.uniform(0.5e4, 2e4, (rows, 1000)).astype(np.float32)
    flux += rng.normal(size=flux.shape).astype(np.float32) / np.sqrt(ivar)
    with h5py.File(path, "w") as f:
        f["flux"] = flux
        f["ivar"] = ivar
        f["mask"] = (rng.uniform(size=(rows, 1000)) < 0.01).astype(np.uint8)
        f["wave"] = wave
        f["targetid"] = np.arange(rows, dtype=np.int64) + 1000
        f["z"] = np.full(rows, 0.1)
        f["spectype"] = np.array([b"GALAXY"] * rows, dtype="S6")
        f["snr"] = np.full(rows, 10.0, dtype=np.float32)
        f["split"] = (np.arange(rows) % 8 == 7).astype(np.uint8)  # 1/8 validation: timing is on training
        f["ra"] = np.zeros(rows)
        f["dec"] = np.zeros(rows)
        a = f.attrs
        # Fixed-length ASCII strings: specvae's attribute reader does not convert h5py's
        # default variable-length UTF-8 strings.
        a["schema"] = np.bytes_("specvae-dataset")
        a["schema_version"] = np.int64(1)
        a["n_rows"] = np.int64(rows)
        a["n_bins"] = np.int64(1000)
        a["wave_min"], a["wave_max"] = 3600.0, 7556.0
        for k in ("selection", "config", "config_hash", "code_version", "input_files"):
            a[k] = np.bytes_("bench")
        a["dataset_hash"] = np.bytes_("bench-%d-%d" % (rows, seed))


TORCH_TRAIN = r'''
import sys, time, json, statistics, h5py, numpy as np, torch
path, threads, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads); torch.manual_seed(1)
with h5py.File(path) as f:
    train = f["split"][:] == 0
    x = torch.from_numpy(f["flux"][:][train]); w = torch.from_numpy((f["ivar"][:] * (1 - f["mask"][:]))[train])
def mlp(sizes, last_linear=True):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2 or not last_linear:
            layers += [torch.nn.ReLU(), torch.nn.Dropout(0.2)]
    return torch.nn.Sequential(*layers)
enc = mlp([1000, 800, 600, 500, 300, 20]); dec = mlp([10, 300, 500, 600, 800, 1000])
opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)
rates = []
for epoch in range(epochs):
    t0 = time.perf_counter(); perm = torch.randperm(len(x))
    for b in range(0, len(x), 512):
        idx = perm[b:b + 512]; xb, wb = x[idx], w[idx]
        h = enc(xb); mu, lv = h[:, :10], h[:, 10:]
        z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
        xh = dec(z)
        loss = (0.5 * (wb * (xb - xh) ** 2).sum(1) - 0.5 * (1 + lv - mu * mu - lv.exp()).sum(1)).mean()
        opt.zero_grad(); loss.backward(); opt.step()
    rates.append(len(x) / (time.perf_counter() - t0))
print(json.dumps({"rates": rates, "loss": float(loss)}))
'''

PEAK = r'''
import sys, time, torch
torch.set_num_threads(int(sys.argv[1])); n = 2048
a = torch.randn(n, n); b = torch.randn(n, n); torch.mm(a, b)
best = 0
for _ in range(5):
    t0 = time.perf_counter(); torch.mm(a, b); best = max(best, 2 * n ** 3 / (time.perf_counter() - t0))
print(best / 1e9)
'''


def run(cmd, env_extra, with_stderr=False):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS", "OMP_"))}
    env.update(env_extra)
    p = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return p.stdout + (p.stderr if with_stderr else "")


def torch_rate(data, threads, epochs, env):
    out = json.loads(run([sys.executable, "-c", TORCH_TRAIN, data, str(threads), str(epochs)], env).strip().splitlines()[-1])
    return statistics.median(out["rates"][1:])


def specvae_rate(exe, data, threads, epochs, env, ranks, extra_sets):
    out = tempfile.mkdtemp(prefix="specvae_bench_")
    # The PyTorch side's recipe: dropout 0.2, exactly `epochs` epochs (specvae's defaults add steps
    # on small data and drop dropout; neither belongs in a throughput comparison).
    cmd = [exe, "train", "--data", data, "--out", out, "--set", f"train.epochs={epochs}", "--set", f"train.threads={threads}",
           "--set", "train.min_steps=0", "--set", "model.dropout=0.2"]
    for s in extra_sets:
        cmd += ["--set", s]
    if ranks > 1:
        launcher = ["mpiexec", "-np", str(ranks), "--bind-to", "none"]
        if os.geteuid() == 0:
            launcher += ["--allow-run-as-root", "--oversubscribe"]
        cmd = launcher + cmd
    log = run(cmd, env, with_stderr=True)
    with open(os.path.join(out, "metrics.jsonl")) as f:
        rates = [json.loads(l)["spectra_per_s"] for l in f if l.strip()]
    gemm = [f"{m.group(1)} {m.group(2)}" for m in (re.search(r"GEMM: (\S+).*?kernel (\S+)", l) for l in log.splitlines())
            if m and "training" not in m.string]
    shutil.rmtree(out)
    return statistics.median(rates[1:]), (gemm[0] if gemm else "?")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--specvae", required=True)
    ap.add_argument("--rows", type=int, default=8192)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--paths", default="default", choices=["default", "avx2"],
                    help="default: as users run it + OpenBLAS SkylakeX on both; avx2: the AVX2 kernels on both")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="specvae_bench_data_")
    data = os.path.join(tmp, "data.h5")
    write_dataset(data, args.rows)
    fps = flops_per_spectrum()
    print(f"rows {args.rows} ({args.rows - args.rows // 8} training), epochs {args.epochs} (first is warm-up), "
          f"{fps / 1e6:.1f} MFLOP per spectrum per step")
    print("| configuration | threads × ranks | PyTorch spectra/s | specvae spectra/s | ratio | SGEMM peak GFLOP/s | specvae % of peak | specvae GEMM |")
    print("|---|---|---|---|---|---|---|---|")
    skx = {"OPENBLAS_CORETYPE": "SkylakeX"}
    configs = (("default", {}, []), ("same kernel (OpenBLAS SkylakeX)", skx, ["train.gemm=openblas"]))
    peak_env = skx
    if args.paths == "avx2":
        hsw = {"OPENBLAS_CORETYPE": "Haswell", "ATEN_CPU_CAPABILITY": "avx2"}
        configs = (("avx2 openblas (Haswell)", hsw, ["train.gemm=openblas"]),
                   ("avx2 onednn (ONEDNN_MAX_CPU_ISA=AVX2)", {**hsw, "ONEDNN_MAX_CPU_ISA": "AVX2"}, ["train.gemm=onednn"]))
        peak_env = hsw
    for name, env, sets in configs:
        for threads, ranks in ((1, 1), (2, 1), (1, 2)):
            # Debian's OpenBLAS is the pthreads build: torch.set_num_threads does not bound its
            # threads, so the PyTorch side and the peak get OPENBLAS_NUM_THREADS = its threads.
            nt = {"OPENBLAS_NUM_THREADS": str(threads * ranks)}
            peak = float(run([sys.executable, "-c", PEAK, str(threads * ranks)], {**peak_env, **nt}).strip())
            pt = torch_rate(data, threads * ranks, args.epochs, {**env, **nt})
            sv, gemm = specvae_rate(args.specvae, data, threads, args.epochs, env, ranks, sets)
            print(f"| {name} | {threads} × {ranks} | {pt:,.0f} | {sv:,.0f} | {sv / pt:.2f} | {peak:.0f} | "
                  f"{100 * sv * fps / 1e9 / peak:.0f}% | {gemm} |", flush=True)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
