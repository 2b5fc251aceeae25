"""Compares a simulated coadd/redrock pair with real DESI files through astropy: the same HDU
names, image dtypes and shapes (per row), BUNITs, and for every table column the simulated
file shares with the real one, the same dtype. Required columns must be present.

usage: test_simulate_format.py SIM_COADD SIM_REDROCK REAL_COADD REAL_REDROCK
exit 0 = match, 1 = mismatch (listed), 77 = astropy unavailable.
"""
import sys

try:
    import numpy as np
    from astropy.io import fits
except ImportError as e:  # pragma: no cover
    print(f"cannot import astropy/numpy: {e}")
    sys.exit(77)

REQUIRED = {
    "FIBERMAP": ["TARGETID", "TARGET_RA", "TARGET_DEC", "COADD_FIBERSTATUS", "OBJTYPE", "DESI_TARGET", "BGS_TARGET",
                 "MWS_TARGET", "SCND_TARGET", "SV3_DESI_TARGET", "SV3_BGS_TARGET", "FLUX_G", "FLUX_R", "FLUX_Z"],
    "REDSHIFTS": ["TARGETID", "Z", "ZERR", "ZWARN", "SPECTYPE", "SUBTYPE", "DELTACHI2", "CHI2", "COEFF", "NPIXELS",
                  "NCOEFF"],
}


def compare(sim_path, real_path, problems, exact_hdus):
    sim, real = fits.open(sim_path), fits.open(real_path)
    sim_names = [h.name for h in sim]
    real_names = [h.name for h in real]
    missing = [n for n in real_names if n not in sim_names and n not in ("TSNR2",)]
    if missing:
        problems.append(f"{sim_path}: HDUs missing: {missing}")
    if exact_hdus and sim_names != real_names:
        problems.append(f"{sim_path}: HDU order {sim_names} != real {real_names}")
    for h in sim[1:]:
        if h.name not in real_names:
            problems.append(f"{sim_path}: extra HDU {h.name}")
            continue
        r = real[h.name]
        if isinstance(r, fits.BinTableHDU):
            if not isinstance(h, fits.BinTableHDU):
                problems.append(f"{h.name}: not a binary table")
                continue
            for name in h.columns.names:
                if name in r.columns.names:
                    ds, dr = h.data.dtype[name], r.data.dtype[name]
                    if ds != dr:
                        problems.append(f"{h.name}.{name}: dtype {ds} != real {dr}")
            for name in REQUIRED.get(h.name, []):
                if name not in h.columns.names:
                    problems.append(f"{h.name}: required column {name} missing")
        else:
            if h.data.dtype != r.data.dtype:
                problems.append(f"{h.name}: dtype {h.data.dtype} != real {r.data.dtype}")
            if h.data.shape[1:] != r.data.shape[1:] and h.data.ndim > 1:
                problems.append(f"{h.name}: row shape {h.data.shape[1:]} != real {r.data.shape[1:]}")
            if h.data.ndim == 1 and h.data.shape != r.data.shape:
                problems.append(f"{h.name}: shape {h.data.shape} != real {r.data.shape}")
            if h.header.get("BUNIT") != r.header.get("BUNIT"):
                problems.append(f"{h.name}: BUNIT {h.header.get('BUNIT')!r} != real {r.header.get('BUNIT')!r}")
            if h.name.endswith("_WAVELENGTH") and not np.array_equal(h.data, r.data):
                problems.append(f"{h.name}: wavelength grid differs from the real one")


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    problems = []
    compare(sys.argv[1], sys.argv[3], problems, exact_hdus=True)
    compare(sys.argv[2], sys.argv[4], problems, exact_hdus=False)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
