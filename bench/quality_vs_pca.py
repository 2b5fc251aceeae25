#!/usr/bin/python3
"""Detection quality of a finished `specvae run` against the PCA yardstick, on the same rows.

PCA-k: the mean and first k eigenspectra of the training rows' preprocessed fluxes (/split 0);
every spectrum is projected on them and scored by paper Eq. 6, (1/M) Σ w (x − x̂)², w = ivar
with masked bins 0 (`pca_mse`). Against the simulated survey's truth table (anomaly != normal
is a positive), for each catalogue score and for pca_mse: ROC AUC, precision in the top 1% and
recall in the top 5% of the ranking. Also the validation weighted MSE of normal galaxies (mean
and median), VAE against PCA-k on the same rows.

Usage: /usr/bin/python3 bench/quality_vs_pca.py RUN_DIR [--k 10] [--json OUT.json]
  RUN_DIR holds dataset.h5, catalogue/catalogue.h5 and survey/truth.csv (what `specvae run` writes).
"""
import argparse
import csv
import json

import h5py
import numpy as np
from sklearn.metrics import roc_auc_score


def ranking_metrics(score, positive):
    """score: larger = more anomalous."""
    order = np.argsort(-score, kind="stable")
    n = len(score)
    top1 = order[: max(1, int(np.ceil(0.01 * n)))]
    top5 = order[: max(1, int(np.ceil(0.05 * n)))]
    return {"auc": float(roc_auc_score(positive, score)), "precision_at_1pct": float(positive[top1].mean()),
            "recall_at_5pct": float(positive[top5].sum() / max(1, positive.sum()))}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--json")
    p.add_argument("--combos", action="store_true",
                   help="also rank-based combinations: mean anomaly percentile of other sets of scores")
    a = p.parse_args()
    with h5py.File(f"{a.run_dir}/dataset.h5", "r") as f:
        x = f["flux"][:].astype(np.float64)
        w = f["ivar"][:].astype(np.float64) * (f["mask"][:] == 0)
        split = f["split"][:]
        tid = f["targetid"][:]
    mean = x[split == 0].mean(axis=0)
    _, _, vt = np.linalg.svd(x[split == 0] - mean, full_matrices=False)
    e = vt[: a.k]
    xhat = mean + ((x - mean) @ e.T) @ e
    pca_mse = (w * (x - xhat) ** 2).mean(axis=1)

    truth = {}
    with open(f"{a.run_dir}/survey/truth.csv") as f:
        for r in csv.DictReader(f):
            truth[int(r["targetid"])] = (r["anomaly"], r["class"])
    with h5py.File(f"{a.run_dir}/catalogue/catalogue.h5", "r") as c:
        ctid = c["targetid"][:]
        assert np.array_equal(np.sort(ctid), np.sort(tid)), "catalogue and dataset rows differ"
        pos_in_data = {t: i for i, t in enumerate(tid)}
        idx = np.array([pos_in_data[t] for t in ctid])
        scores = {name: -c[f"rank_{name}"][:].astype(np.float64) for name in ("mse", "recon_logprob", "nof", "combined")}
        vae_mse = c["mse"][:]
        csplit = c["split"][:]
    scores["pca_mse"] = pca_mse[idx]
    if a.combos:
        n = len(ctid)
        pct = {k: 1.0 - (np.argsort(np.argsort(-v, kind="stable"), kind="stable")) / n for k, v in scores.items()}
        for combo in (("mse", "nof"), ("mse", "pca_mse"), ("mse", "nof", "pca_mse"), ("mse", "recon_logprob", "nof", "pca_mse")):
            scores["mean pct(" + "+".join(combo) + ")"] = sum(pct[k] for k in combo) / len(combo)
        scores["max pct(mse, nof)"] = np.maximum(pct["mse"], pct["nof"])
    anomaly = np.array([truth[t][0] != "normal" for t in ctid])
    cls = np.array([truth[t][1] for t in ctid])
    out = {"rows": int(len(ctid)), "anomalies": int(anomaly.sum()), "k": a.k, "scores": {}}
    for name, s in scores.items():
        out["scores"][name] = ranking_metrics(s, anomaly)
    g = (csplit == 1) & (~anomaly) & (cls == "GALAXY")
    out["val_normal_galaxies"] = {"n": int(g.sum()), "vae_mean": float(vae_mse[g].mean()),
                                  "vae_median": float(np.median(vae_mse[g])),
                                  "pca_mean": float(pca_mse[idx][g].mean()), "pca_median": float(np.median(pca_mse[idx][g]))}
    v = out["val_normal_galaxies"]
    print(f"{out['rows']} rows, {out['anomalies']} anomalies; validation normal galaxies (n={v['n']}): "
          f"VAE weighted MSE {v['vae_mean']:.3f} mean / {v['vae_median']:.3f} median, PCA-{a.k} "
          f"{v['pca_mean']:.3f} / {v['pca_median']:.3f} (ratio of means {v['vae_mean'] / v['pca_mean']:.2f})")
    print("| score | AUC | precision@1% | recall@5% |\n|---|---|---|---|")
    for name, m in out["scores"].items():
        print(f"| {name} | {m['auc']:.3f} | {m['precision_at_1pct']:.2f} | {m['recall_at_5pct']:.2f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
