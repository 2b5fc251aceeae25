// Flux-conserving resampling (SpectRes weights and error propagation) with per-bin masks.
// One merge-like sweep over input and output edges: O(n_in + n_out) per spectrum.
#include "specvae/ingest/resample.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "specvae/core/error.hpp"

namespace specvae::ingest {

std::vector<double> RestGrid::edges() const {
  std::vector<double> e(static_cast<std::size_t>(n_bins) + 1);
  const double step = (wave_max - wave_min) / n_bins;
  for (int i = 0; i <= n_bins; ++i) e[i] = wave_min + i * step;
  e[n_bins] = wave_max;  // exact end, whatever the rounding of i·step
  return e;
}

std::vector<double> RestGrid::centres() const {
  auto e = edges();
  std::vector<double> c(static_cast<std::size_t>(n_bins));
  for (int i = 0; i < n_bins; ++i) c[i] = 0.5 * (e[i] + e[i + 1]);
  return c;
}

std::vector<double> edges_from_centres(std::span<const double> centres) {
  const std::size_t n = centres.size();
  SPECVAE_CHECK(n >= 2, "need at least two wavelengths to make bins, got {}", n);
  std::vector<double> e(n + 1);
  e[0] = centres[0] - 0.5 * (centres[1] - centres[0]);
  for (std::size_t i = 1; i < n; ++i) e[i] = 0.5 * (centres[i - 1] + centres[i]);
  e[n] = centres[n - 1] + 0.5 * (centres[n - 1] - centres[n - 2]);
  return e;
}

void resample_flux_conserving(std::span<const double> in_edges, std::span<const double> flux,
                              std::span<const double> sigma, std::span<const std::uint8_t> bad,
                              std::span<const double> out_edges, std::span<double> out_flux,
                              std::span<double> out_sigma, std::span<std::uint8_t> out_mask) {
  const std::size_t n_in = flux.size(), n_out = out_flux.size();
  SPECVAE_CHECK(n_in >= 1 && in_edges.size() == n_in + 1 && sigma.size() == n_in,
                "resample: {} input pixels, {} edges, {} sigmas", n_in, in_edges.size(), sigma.size());
  SPECVAE_CHECK(bad.empty() || bad.size() == n_in, "resample: bad flags {} != {}", bad.size(), n_in);
  SPECVAE_CHECK(out_edges.size() == n_out + 1 && out_sigma.size() == n_out && out_mask.size() == n_out,
                "resample: output sizes disagree");
  constexpr double inf = std::numeric_limits<double>::infinity();
  const double lo = in_edges.front(), hi = in_edges.back();

  std::size_t i = 0;  // first input pixel that may overlap the current output bin
  for (std::size_t j = 0; j < n_out; ++j) {
    const double a = out_edges[j], b = out_edges[j + 1];
    if (a < lo || b > hi) {  // not covered by the input (SpectRes fills these)
      out_flux[j] = 0;
      out_sigma[j] = inf;
      out_mask[j] = 1;
      continue;
    }
    while (i + 1 < n_in && in_edges[i + 1] <= a) ++i;
    double w_all = 0, wf = 0, w_good = 0, var = 0;
    for (std::size_t k = i; k < n_in && in_edges[k] < b; ++k) {
      const double p = std::min(b, in_edges[k + 1]) - std::max(a, in_edges[k]);
      if (p <= 0) continue;
      w_all += p;
      wf += p * flux[k];
      if (bad.empty() || !bad[k]) {
        w_good += p;
        var += (p * sigma[k]) * (p * sigma[k]);
      }
    }
    if (w_all <= 0 || w_good <= 0 || (w_all - w_good) > kMaxBadFraction * w_all) {
      out_flux[j] = w_all > 0 ? wf / w_all : 0;
      out_sigma[j] = inf;
      out_mask[j] = 1;
      continue;
    }
    out_flux[j] = wf / w_all;
    out_sigma[j] = std::sqrt(var) / w_good;
    out_mask[j] = 0;
  }
}

}  // namespace specvae::ingest
