#!/usr/bin/env python3
"""Writes a small synthetic survey in DESI's coadd/redrock formats for the ingest tests.

Galaxy-like spectra (power-law continuum with a 4000 A break and emission lines) at known
redshifts, observed on the b/r/z grids with Gaussian noise, a few masked cosmic-ray pixels and
zero-ivar pixels, some spectra outside the default z range, some too faint, a few stars.
Usage: test_ingest_make_survey.py OUTDIR --files 3 --per-file 40 --seed 1 [--corrupt 1]
       [--zmax 0.36] [--faint-frac 0.1] [--zcatalog PATH]
Writes OUTDIR/coadd-test-<i>.fits, OUTDIR/redrock-test-<i>.fits and OUTDIR/truth.json.
"""
import argparse
import json
import os

import numpy as np
from astropy.io import fits

CAMERAS = [("B", 3600.0, 5800.0), ("R", 5760.0, 7620.0), ("Z", 7520.0, 9824.0)]
LINES = [(3727.0, 1.5), (4861.0, 1.0), (5007.0, 2.0), (6563.0, 3.0), (6584.0, 1.0)]


def rest_model(wave, rng):
    slope = rng.uniform(-1.5, 0.5)
    cont = (wave / 5000.0) ** slope
    cont *= np.where(wave < 4000.0, rng.uniform(0.4, 0.9), 1.0)
    strength = rng.uniform(0.0, 4.0)
    for centre, amp in LINES:
        cont += strength * amp * np.exp(-0.5 * ((wave - centre) / 3.0) ** 2)
    return cont


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--files", type=int, default=3)
    ap.add_argument("--per-file", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corrupt", type=int, default=-1, help="index of a file to truncate")
    ap.add_argument("--zmax", type=float, default=0.36, help="redshifts are uniform in [0, zmax]")
    ap.add_argument("--faint-frac", type=float, default=0.1, help="fraction of spectra far below S/N 5")
    ap.add_argument("--zcatalog", default="", help="also write all redshifts into this zcatalog (ZCATALOG HDU)")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    grids = [(c, np.arange(lo, hi + 0.4, 0.8)) for c, lo, hi in CAMERAS]
    truth = []
    zcat_rows = []
    for f in range(a.files):
        n = a.per_file
        tid = np.array([1000000 * (f + 1) + i for i in range(n)], dtype=np.int64)
        z = rng.uniform(0.0, a.zmax, n)
        spectype = np.array(["GALAXY"] * n, dtype="U6")
        spectype[rng.random(n) < 0.1] = "STAR"
        level = rng.uniform(5.0, 30.0, n)
        level[rng.random(n) < a.faint_frac] = 0.05  # too faint: median S/N far below 5
        hdus = [fits.PrimaryHDU()]
        hdus[0].header["SURVEY"] = "sv3"
        hdus[0].header["PROGRAM"] = "bright"
        hdus[0].header["HPXPIXEL"] = f
        fm = fits.BinTableHDU.from_columns([
            fits.Column(name="TARGETID", format="K", array=tid),
            fits.Column(name="TARGET_RA", format="D", array=rng.uniform(0, 360, n)),
            fits.Column(name="TARGET_DEC", format="D", array=rng.uniform(-10, 60, n)),
            fits.Column(name="COADD_FIBERSTATUS", format="J", array=np.zeros(n, dtype=np.int32)),
            fits.Column(name="OBJTYPE", format="3A", array=np.array(["TGT"] * n)),
            fits.Column(name="DESI_TARGET", format="K", array=np.full(n, 1 << 60, dtype=np.int64)),
            fits.Column(name="BGS_TARGET", format="K", array=np.full(n, 2, dtype=np.int64)),
        ], name="FIBERMAP")
        hdus.append(fm)
        for cam, wave in grids:
            flux = np.zeros((n, wave.size), dtype=np.float32)
            ivar = np.zeros((n, wave.size), dtype=np.float32)
            mask = np.zeros((n, wave.size), dtype=np.int32)
            for i in range(n):
                r = np.random.default_rng([a.seed, f, i])  # same model for every camera
                rest = rest_model(wave / (1 + z[i]), r) * level[i] / (1 + z[i])
                sigma = 0.5 + 0.02 * np.abs(rest)
                noise_rng = np.random.default_rng([a.seed, f, i, ord(cam)])
                flux[i] = rest + sigma * noise_rng.normal(size=wave.size)
                ivar[i] = 1.0 / sigma**2
                for _ in range(noise_rng.integers(0, 4)):  # cosmic rays, flagged in MASK
                    k = noise_rng.integers(0, wave.size - 3)
                    flux[i, k:k + 3] += 500.0
                    mask[i, k:k + 3] |= 1 << 2
                k = noise_rng.integers(0, wave.size - 5)
                ivar[i, k:k + 5] = 0.0  # unmasked zero-ivar pixels
            hdus.append(fits.ImageHDU(wave, name=f"{cam}_WAVELENGTH"))
            hdus.append(fits.ImageHDU(flux, name=f"{cam}_FLUX"))
            hdus.append(fits.ImageHDU(ivar, name=f"{cam}_IVAR"))
            hdus.append(fits.ImageHDU(mask, name=f"{cam}_MASK"))
        coadd = os.path.join(a.outdir, f"coadd-test-{f}.fits")
        fits.HDUList(hdus).writeto(coadd, overwrite=True)
        rr = fits.BinTableHDU.from_columns([
            fits.Column(name="TARGETID", format="K", array=tid[::-1]),  # other order than the coadd
            fits.Column(name="Z", format="D", array=z[::-1]),
            fits.Column(name="ZERR", format="D", array=np.full(n, 1e-4)),
            fits.Column(name="ZWARN", format="K", array=np.zeros(n, dtype=np.int64)),
            fits.Column(name="SPECTYPE", format="6A", array=spectype[::-1]),
            fits.Column(name="SUBTYPE", format="20A", array=np.array([""] * n)),
            fits.Column(name="DELTACHI2", format="D", array=np.full(n, 100.0)),
        ], name="REDSHIFTS")
        zcat_rows.append(rr.data)
        fits.HDUList([fits.PrimaryHDU(), rr]).writeto(os.path.join(a.outdir, f"redrock-test-{f}.fits"), overwrite=True)
        if f == a.corrupt:
            size = os.path.getsize(coadd)
            with open(coadd, "r+b") as fh:
                fh.truncate(size // 2)
        for i in range(n):
            truth.append({"file": f, "targetid": int(tid[i]), "z": float(z[i]), "spectype": str(spectype[i]),
                          "faint": bool(level[i] < 1.0)})
    if a.zcatalog:
        allrows = np.concatenate([np.asarray(r) for r in zcat_rows])
        order = np.argsort(allrows["TARGETID"])[::-1]  # not in coadd order
        cols = [fits.Column(name=c.name, format=c.format, array=allrows[c.name][order]) for c in zcat_rows[0].columns]
        m = len(order)
        cols += [fits.Column(name="SURVEY", format="7A", array=np.array(["sv3"] * m)),
                 fits.Column(name="PROGRAM", format="6A", array=np.array(["bright"] * m))]
        fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="ZCATALOG")]).writeto(
            a.zcatalog, overwrite=True)
    with open(os.path.join(a.outdir, "truth.json"), "w") as fh:
        json.dump(truth, fh)


if __name__ == "__main__":
    main()
