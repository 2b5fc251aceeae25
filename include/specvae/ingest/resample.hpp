// Flux-conserving resampling of one spectrum onto new wavelength bins, with SpectRes'
// weights and error propagation (Carnall 2017; REFERENCE.md §4.1), plus the per-bin mask
// ingest needs: a bin is bad when the input does not cover it or when most of it came from
// bad (interpolated) input pixels.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace specvae::ingest {

// The rest-frame output grid: n_bins equal bins, edges wave_min + i·(wave_max−wave_min)/n_bins.
struct RestGrid {
  int n_bins = 1000;
  double wave_min = 3600.0, wave_max = 7556.0;
  std::vector<double> edges() const;    // [n_bins + 1]
  std::vector<double> centres() const;  // [n_bins], stored as /wave
};

// SpectRes make_bins: edges at the midpoints of consecutive centres, the outer edges half a
// step beyond the first and last centre. Needs at least two strictly increasing centres.
std::vector<double> edges_from_centres(std::span<const double> centres);

// Above this fraction of a bin's weight coming from bad input pixels the bin is masked:
// "most of it" came from interpolation, so its value says more about the neighbours.
inline constexpr double kMaxBadFraction = 0.5;

// Resamples (flux, sigma) given on bins `in_edges` ([n_in+1], increasing) onto `out_edges`
// ([n_out+1], increasing). Each input pixel i contributes to output bin j with weight
// P_ij = length of [e_i, e_{i+1}] ∩ [E_j, E_{j+1}] (this equals SpectRes' widths with the
// covered fractions at the ends), so
//     F_j = Σ P_ij f_i / Σ P_ij,    σ_j = sqrt(Σ_good (P_ij σ_i)²) / Σ_good P_ij.
// With no bad pixels σ_j is SpectRes' formula exactly. Pixels flagged in `bad` (may be empty)
// contribute their (interpolated) flux but no information to σ_j; a bin whose bad weight
// exceeds kMaxBadFraction of its total, or which extends beyond the input edges (SpectRes'
// "fill" case), gets out_mask = 1 and out_sigma = +inf; its out_flux is 0 when uncovered and
// the (mostly interpolated) weighted mean otherwise.
void resample_flux_conserving(std::span<const double> in_edges, std::span<const double> flux,
                              std::span<const double> sigma, std::span<const std::uint8_t> bad,
                              std::span<const double> out_edges, std::span<double> out_flux,
                              std::span<double> out_sigma, std::span<std::uint8_t> out_mask);

}  // namespace specvae::ingest
