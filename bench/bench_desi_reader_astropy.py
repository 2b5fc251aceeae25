#!/usr/bin/env python3
"""The peer of bench_desi_reader: astropy.io.fits reading the same coadd, the way a DESI user's
script does (fits.open, then the B/R/Z WAVELENGTH/FLUX/IVAR/MASK arrays and the FIBERMAP
columns specvae uses, converted to native-endian arrays as any computation needs).

Usage: bench_desi_reader_astropy.py FILE [repeats]. Prints the median wall time of one whole-file
read after one warm-up read (wall and process CPU time), and the spectra/s.
"""
import statistics
import sys
import time

import numpy as np
from astropy.io import fits


def read_all(path):
    out = {}
    with fits.open(path, memmap=False) as h:
        for cam in ("B", "R", "Z"):
            out[cam] = [np.ascontiguousarray(h[f"{cam}_{x}"].data, dtype=t)
                        for x, t in (("WAVELENGTH", np.float64), ("FLUX", np.float32),
                                     ("IVAR", np.float32), ("MASK", np.uint32))]
        fm = h["FIBERMAP"].data
        out["fm"] = [np.asarray(fm[c]) for c in ("TARGETID", "TARGET_RA", "TARGET_DEC",
                                                   "COADD_FIBERSTATUS", "OBJTYPE")]
    return out


def main():
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    first = read_all(path)  # warm-up (page cache, imports)
    nspec = first["B"][1].shape[0]
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        read_all(path)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    w, c = statistics.median(wall), statistics.median(cpu)
    print(f"astropy whole file: {nspec} spectra, median over {repeats} repeats: wall {w*1e3:.1f} ms "
          f"({nspec/w:.0f} spectra/s), CPU {c*1e3:.1f} ms ({nspec/c:.0f} spectra/s)")


if __name__ == "__main__":
    main()
