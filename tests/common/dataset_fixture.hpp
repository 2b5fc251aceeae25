// Deterministic synthetic dataset rows for I/O tests (no physics: just distinct values).
#pragma once

#include <cmath>

#include "specvae/io/dataset.hpp"

namespace specvae::fixtures {

inline DatasetProvenance test_provenance(int n_bins) {
  DatasetProvenance p;
  for (int i = 0; i < n_bins; ++i) p.wave.push_back(3600.0 + (i + 0.5) * 3956.0 / n_bins);
  p.wave_min = 3600.0;
  p.wave_max = 7556.0;
  p.selection = "0 <= z <= 0.3, snr > 5";
  p.config_toml = "[train]\nepochs = 1\n";
  p.config_hash = "0123456789abcdef";
  p.input_files = {"coadd-a.fits", "coadd-b.fits"};
  p.rejected = {{"z_range", 3}, {"snr", 5}};
  return p;
}

// Global rows [begin, begin+count) of a dataset whose row i is a function of i only.
inline DatasetRows test_rows(std::int64_t begin, std::int64_t count, int n_bins) {
  DatasetRows r;
  r.resize(count, n_bins);
  r.begin = begin;
  static const char* types[] = {"GALAXY", "QSO", "STAR"};
  for (std::int64_t k = 0; k < count; ++k) {
    const std::int64_t i = begin + k;
    const auto row = std::size_t(k) * std::size_t(n_bins);
    for (int b = 0; b < n_bins; ++b) {
      r.flux[row + std::size_t(b)] = float(std::sin(0.01 * double(i * n_bins + b)));
      r.ivar[row + std::size_t(b)] = float(1 + (i + b) % 7);
      r.mask[row + std::size_t(b)] = std::uint8_t((i * 31 + b) % 11 == 0);
    }
    r.targetid[std::size_t(k)] = 39633345008634465LL + i;
    r.z[std::size_t(k)] = 0.001 * double(i % 300);
    r.spectype[std::size_t(k)] = types[i % 3];
    r.snr[std::size_t(k)] = float(5 + i % 20);
    r.split[std::size_t(k)] = std::uint8_t(i % 4 == 0);
    r.ra[std::size_t(k)] = 150.0 + 0.001 * double(i);
    r.dec[std::size_t(k)] = -2.0 + 0.002 * double(i);
    r.survey[std::size_t(k)] = i % 2 ? "main" : "special";
    r.program[std::size_t(k)] = i % 5 ? "dark" : "bright";
    r.healpix[std::size_t(k)] = std::int32_t(27000 + i % 9);
    r.zwarn[std::size_t(k)] = i % 6 == 0 ? 4 : 0;
    r.deltachi2[std::size_t(k)] = 25.0 + double(i);
    r.coadd_fiberstatus[std::size_t(k)] = i % 8 == 0 ? 8 : 0;
  }
  return r;
}

}  // namespace specvae::fixtures
