#!/usr/bin/env python3
"""PyTorch peer of bench_gpu_train: the same VAE (1000-800-600-500-300-(10)-300-500-600-800-1000,
ReLU, dropout 0.2, weighted Gaussian reconstruction + KL, Adam lr 1e-3) trained on the same GPU
on resident random data, eager mode (what a user would write), fp32 and TF32.
Method: 10 warm-up steps, then the median of REPEATS blocks of STEPS steps, synchronised at block
ends. Prints markdown rows like bench_gpu_train.
Usage: torch_train.py [steps=50] [repeats=5] [device=cuda] [batches=512,2048,8192]
(`torch_train.py 2 1 cpu 64` is a dry run on a machine without a GPU.)"""
import statistics
import sys
import time
import warnings

import torch
from torch import nn


class Vae(nn.Module):
    def __init__(self, n_in=1000, enc=(800, 600, 500, 300), latent=10, dec=(300, 500, 600, 800), p=0.2):
        super().__init__()
        layers, w = [], n_in
        for h in enc:
            layers += [nn.Linear(w, h), nn.ReLU(), nn.Dropout(p)]
            w = h
        self.encoder = nn.Sequential(*layers)
        self.head = nn.Linear(w, 2 * latent)
        layers, w = [], latent
        for h in dec:
            layers += [nn.Linear(w, h), nn.ReLU(), nn.Dropout(p)]
            w = h
        layers.append(nn.Linear(w, n_in))
        self.decoder = nn.Sequential(*layers)
        self.latent = latent

    def forward(self, x):
        mu, logvar = self.head(self.encoder(x)).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decoder(z), mu, logvar


def loss_fn(x, w, xhat, mu, logvar):
    recon = 0.5 * (w * (x - xhat) ** 2).sum(dim=1)
    kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(dim=1)
    return (recon + kl).mean()


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def train_rate(batch, steps, repeats, tf32, dev):
    # The legacy switch sets the old and the new (torch >= 2.9) TF32 flags together; torch 2.9+
    # warns that it will be deprecated (filtered in main), and setting only the new one can
    # trip torch's mixed-API check. No convolutions here, so cuDNN's flag does not matter.
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.manual_seed(0)
    model = Vae().to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = (torch.rand(batch, 1000, device=dev) * 0.13 - 0.05)
    w = torch.rand(batch, 1000, device=dev) * 350 + 50

    def step():
        xhat, mu, logvar = model(x)
        loss = loss_fn(x, w, xhat, mu, logvar)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(10):
        step()
    sync(dev)
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync(dev)
        rates.append(steps * batch / (time.perf_counter() - t0))
    return statistics.median(rates)


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    dev = torch.device(sys.argv[3] if len(sys.argv) > 3 else "cuda")
    batches = [int(b) for b in sys.argv[4].split(",")] if len(sys.argv) > 4 else [512, 2048, 8192]
    warnings.filterwarnings("ignore", message=".*TF32.*")
    if dev.type == "cuda" and not torch.cuda.is_available():
        print(f"torch {torch.__version__}: no CUDA device for torch", file=sys.stderr)
        return 2
    where = torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu"
    print(f"torch {torch.__version__} on {where}", file=sys.stderr, flush=True)
    print("| what | batch | math | spectra/s |\n|---|---|---|---|", flush=True)
    for tf32 in (False, True):
        for batch in batches:
            rate = train_rate(batch, steps, repeats, tf32, dev)
            print(f"| train step (pytorch eager) | {batch} | {'tf32' if tf32 else 'fp32'} | {rate:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
