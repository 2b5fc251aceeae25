// One spectrum from combined observed pixels to rest-frame bins: S/N, interpolation of
// unusable pixels, rest-frame shift and flux-conserving resampling with masks.
#include <algorithm>
#include <cmath>

#include "specvae/core/error.hpp"
#include "specvae/ingest/spectrum_prep.hpp"

namespace specvae::ingest {

bool median_snr(std::span<const double> wave, std::span<const double> flux, std::span<const double> ivar,
                std::span<const std::uint8_t> good, double z, double wave_min, double wave_max, double& snr,
                std::vector<double>& scratch) {
  scratch.clear();
  const double lo = wave_min * (1 + z), hi = wave_max * (1 + z);  // the window in the observed frame
  auto first = std::lower_bound(wave.begin(), wave.end(), lo) - wave.begin();
  for (std::size_t i = static_cast<std::size_t>(first); i < wave.size() && wave[i] <= hi; ++i)
    if (good[i]) scratch.push_back(flux[i] * std::sqrt(ivar[i]));
  const std::size_t n = scratch.size();
  if (n == 0) return false;
  auto mid = scratch.begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(scratch.begin(), mid, scratch.end());
  double m = *mid;
  if (n % 2 == 0) m = 0.5 * (m + *std::max_element(scratch.begin(), mid));
  snr = m;
  return true;
}

bool interpolate_bad_pixels(std::span<const double> wave, std::span<double> flux, std::span<const std::uint8_t> good) {
  const std::size_t n = flux.size();
  std::size_t prev = n;  // last good pixel seen (n = none yet)
  for (std::size_t i = 0; i < n; ++i) {
    if (!good[i]) continue;
    if (prev == n) {
      for (std::size_t k = 0; k < i; ++k) flux[k] = flux[i];  // before the first good pixel
    } else if (i > prev + 1) {
      const double w0 = wave[prev], f0 = flux[prev], slope = (flux[i] - f0) / (wave[i] - w0);
      for (std::size_t k = prev + 1; k < i; ++k) flux[k] = f0 + slope * (wave[k] - w0);
    }
    prev = i;
  }
  if (prev == n) return false;
  for (std::size_t k = prev + 1; k < n; ++k) flux[k] = flux[prev];  // after the last good pixel
  return true;
}

SpectrumPreparer::SpectrumPreparer(const RestGrid& grid) : grid_(grid), rest_edges_(grid.edges()) {
  out_flux_.resize(static_cast<std::size_t>(grid.n_bins));
  out_sigma_.resize(static_cast<std::size_t>(grid.n_bins));
}

bool SpectrumPreparer::prepare(const BrzGrid& obs, std::span<double> flux, std::span<const double> ivar,
                               std::span<const std::uint8_t> good, double z, float& snr, std::span<float> out_flux,
                               std::span<float> out_ivar, std::span<std::uint8_t> out_mask) {
  const std::size_t n = obs.wave.size(), nb = static_cast<std::size_t>(grid_.n_bins);
  SPECVAE_CHECK(flux.size() == n && ivar.size() == n && good.size() == n, "prepare: sizes disagree");
  SPECVAE_CHECK(out_flux.size() == nb && out_ivar.size() == nb && out_mask.size() == nb, "prepare: output sizes");
  SPECVAE_CHECK(1 + z > 0, "prepare: 1+z = {} must be positive", 1 + z);

  double s = 0;
  if (!median_snr(obs.wave, flux, ivar, good, z, grid_.wave_min, grid_.wave_max, s, scratch_)) return false;
  snr = static_cast<float>(s);
  if (!interpolate_bad_pixels(obs.wave, flux, good)) return false;

  const double opz = 1 + z;
  in_edges_.resize(n + 1);
  for (std::size_t i = 0; i <= n; ++i) in_edges_[i] = obs.edges[i] / opz;
  sigma_.resize(n);
  bad_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    flux[i] *= opz;
    bad_[i] = good[i] ? 0 : 1;
    sigma_[i] = good[i] ? opz / std::sqrt(ivar[i]) : 0.0;
  }
  resample_flux_conserving(in_edges_, flux, sigma_, bad_, rest_edges_, out_flux_, out_sigma_, out_mask);
  for (std::size_t j = 0; j < nb; ++j) {
    out_flux[j] = static_cast<float>(out_flux_[j]);
    out_ivar[j] = out_mask[j] ? 0.0f : static_cast<float>(1.0 / (out_sigma_[j] * out_sigma_[j]));
  }
  return true;
}

}  // namespace specvae::ingest
