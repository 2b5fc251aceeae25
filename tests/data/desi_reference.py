#!/usr/bin/env python3
"""Reference values of DESI coadd/spectra/redrock files read with astropy, printed as JSON.

The C++ reader tests compare their own reading of the same files with this output, so that
the DESI reader is checked against an independent FITS implementation (astropy.io.fits).
Usage: desi_reference.py FILE...   (coadd-*/spectra-* files and redrock-* files)
"""
import json
import sys

import numpy as np
from astropy.io import fits


def spectra_summary(hdul):
    out = {"cameras": {}}
    names = [h.name for h in hdul]
    for name in names:
        if not name.endswith("_FLUX"):
            continue
        cam = name[: -len("_FLUX")]
        wave = np.asarray(hdul[cam + "_WAVELENGTH"].data, dtype=np.float64)
        flux = np.asarray(hdul[cam + "_FLUX"].data, dtype=np.float64)
        ivar = np.asarray(hdul[cam + "_IVAR"].data, dtype=np.float64)
        entry = {
            "nwave": int(wave.size),
            "wave_first": float(wave[0]),
            "wave_last": float(wave[-1]),
            "nspec": int(flux.shape[0]),
            "flux_row_sum": [float(v) for v in np.nansum(np.where(ivar > 0, flux, 0.0), axis=1)],
            "ivar_row_sum": [float(v) for v in ivar.sum(axis=1)],
            "flux_at_100": [float(v) for v in flux[:, 100]],
        }
        if cam + "_MASK" in names:
            mask = np.asarray(hdul[cam + "_MASK"].data).astype(np.int64)
            entry["mask_row_or"] = [int(np.bitwise_or.reduce(r)) for r in mask]
            entry["mask_row_nonzero"] = [int(np.count_nonzero(r)) for r in mask]
        out["cameras"][cam.lower()] = entry
    if "FIBERMAP" in names:
        fm = hdul["FIBERMAP"].data
        out["targetid"] = [int(v) for v in fm["TARGETID"]]
        out["ra"] = [float(v) for v in fm["TARGET_RA"]]
        out["dec"] = [float(v) for v in fm["TARGET_DEC"]]
        status = "COADD_FIBERSTATUS" if "COADD_FIBERSTATUS" in fm.columns.names else "FIBERSTATUS"
        out["fiberstatus"] = [int(v) for v in fm[status]]
        out["objtype"] = [str(v).rstrip() for v in fm["OBJTYPE"]]
    return out


def redshift_summary(hdul):
    name = "REDSHIFTS" if "REDSHIFTS" in [h.name for h in hdul] else "ZCATALOG"
    d = hdul[name].data
    return {
        "targetid": [int(v) for v in d["TARGETID"]],
        "z": [float(v) for v in d["Z"]],
        "zerr": [float(v) for v in d["ZERR"]],
        "zwarn": [int(v) for v in d["ZWARN"]],
        "spectype": [str(v).rstrip() for v in d["SPECTYPE"]],
        "deltachi2": [float(v) for v in d["DELTACHI2"]],
    }


def main():
    result = {}
    for path in sys.argv[1:]:
        with fits.open(path) as hdul:
            names = [h.name for h in hdul]
            if "REDSHIFTS" in names or "ZCATALOG" in names:
                result[path] = redshift_summary(hdul)
            else:
                result[path] = spectra_summary(hdul)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
