"""Two training runs ended the same, bit for bit: checkpoint-last.h5 and checkpoint-best.h5
(every dataset and the training state), and every epoch of metrics.jsonl; with --catalogues,
the two catalogue.h5 files' scores, latent means and targetids too. The second run must not
say it stopped inside an epoch. Exit 1 with the first difference.
Usage: same_training.py TRAIN_A TRAIN_B [--epochs N] [--catalogues CAT_A CAT_B]"""
import argparse
import json

import h5py
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("a")
p.add_argument("b")
p.add_argument("--epochs", type=int, help="the number of epochs both must have")
p.add_argument("--catalogues", nargs=2)
args = p.parse_args()

for f in ["checkpoint-last.h5", "checkpoint-best.h5"]:
    with h5py.File(f"{args.a}/{f}") as x, h5py.File(f"{args.b}/{f}") as y:
        names = []
        x.visit(names.append)
        for n in names:
            if isinstance(x[n], h5py.Dataset):
                assert np.array_equal(x[n][()], y[n][()]), f"{f}: {n} differs"
        for k in ["epoch", "step", "learning_rate", "best_val_loss", "best_epoch"]:
            assert x.attrs[k] == y.attrs[k], (f, k, x.attrs[k], y.attrs[k])
        assert "batch_in_epoch" not in y.attrs, "the final checkpoint says it stopped inside an epoch"
la = [json.loads(line) for line in open(f"{args.a}/metrics.jsonl")]
lb = [json.loads(line) for line in open(f"{args.b}/metrics.jsonl")]
assert len(la) == len(lb), (len(la), len(lb))
assert args.epochs is None or len(la) == args.epochs, (len(la), args.epochs)
for x, y in zip(la, lb):
    for k in ["epoch", "step", "train_loss", "train_recon", "train_kl", "val_loss", "val_mse", "lr", "best"]:
        assert x[k] == y[k], (x["epoch"], k, x[k], y[k])
said = f"same: checkpoints and {len(la)} epochs of metrics (step {la[-1]['step']})"
if args.catalogues:
    ca, cb = args.catalogues
    with h5py.File(f"{ca}/catalogue.h5") as x, h5py.File(f"{cb}/catalogue.h5") as y:
        for n in ["targetid", "mse", "recon_logprob", "nof", "pca_mse", "latent_mu"]:
            assert np.array_equal(x[n][()], y[n][()]), f"catalogue: {n} differs"
    said += ", and the catalogue"
print(said)
