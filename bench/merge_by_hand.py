"""The merge stage done by hand with numpy, h5py and astropy: what a user would otherwise write.

Reads every score-shard-*.h5 in a folder, concatenates the columns in row order, ranks each
score (stable, NaN last) and the combined score like `specvae merge`, and writes the catalogue
as HDF5 (h5py), a FITS binary table (astropy) and the top-N CSV. No coverage or provenance
checks. Usage: merge_by_hand.py SHARD_DIR OUT_DIR
"""
import glob
import os
import sys

import h5py
import numpy as np
from astropy.table import Table

SCORES = (("mse", True), ("recon_logprob", False), ("nof", False))
COLUMNS = ("targetid", "ra", "dec", "z", "spectype", "snr", "split", "mse", "recon_logprob", "nof",
           "latent_mu", "latent_logvar")


def main():
    shard_dir, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    shards = []
    for p in sorted(glob.glob(os.path.join(shard_dir, "score-shard-*.h5"))):
        with h5py.File(p, "r") as f:
            shards.append((int(f.attrs["row_begin"]), {c: f[c][:] for c in COLUMNS}))
    shards.sort(key=lambda s: s[0])
    cat = {c: np.concatenate([s[1][c] for s in shards]) for c in COLUMNS}
    del shards
    n = len(cat["targetid"])
    n_flag = max(1, int(np.ceil(0.01 * n - 1e-9)))
    combined = np.zeros(n)
    for name, higher in SCORES:
        v = cat[name]
        order = np.argsort(-v if higher else v, kind="stable")  # NaN sorts last either way
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(1, n + 1)
        cat["rank_" + name] = rank
        cat["flag_" + name] = rank <= n_flag
        combined += (1.0 - (rank - 1) / n) / len(SCORES)
    order = np.argsort(-combined, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    cat["combined"], cat["rank_combined"], cat["flag_combined"] = combined, rank, rank <= n_flag
    with h5py.File(os.path.join(out, "catalogue.h5"), "w") as f:
        for k, v in cat.items():
            f.create_dataset(k, data=v, chunks=True)
    Table({k.upper(): v for k, v in cat.items()}).write(os.path.join(out, "catalogue.fits"), overwrite=True)
    with open(os.path.join(out, "top_outliers.csv"), "w") as f:
        f.write("by,rank,targetid,mse,recon_logprob,nof,combined\n")
        for name in ("mse", "recon_logprob", "nof", "combined"):
            top = np.argsort(cat["rank_" + name])[:100]
            for i in top:
                f.write(f"{name},{cat['rank_' + name][i]},{cat['targetid'][i]},{cat['mse'][i]},"
                        f"{cat['recon_logprob'][i]},{cat['nof'][i]},{cat['combined'][i]}\n")
    print(f"catalogue of {n} rows")


if __name__ == "__main__":
    main()
