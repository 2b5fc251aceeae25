// Per-spectrum preprocessing up to the rest-frame bins (DESIGN.md §ingest, REFERENCE.md §4–5):
// combine the b/r/z cameras onto the brz grid as desispec's coadd_cameras does, drop unusable
// pixels and fill them by linear interpolation, measure the median pixel S/N, shift to the
// rest frame and resample flux-conservingly onto the output grid with a per-bin mask.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "specvae/ingest/resample.hpp"
#include "specvae/io/desi.hpp"

namespace specvae::ingest {

// The combined grid of a file's cameras and where each camera pixel lands on it. Built as
// desispec does: cameras sorted by mean wavelength, the first camera's grid, then every later
// camera's pixels beyond the current end (+1e-4 Å); overlapping pixels must sit on the grid
// within 1e-4 Å, else the file is an InputError.
struct BrzGrid {
  std::vector<double> wave;                    // combined pixel centres, Å (observed frame)
  std::vector<double> edges;                   // [wave.size() + 1], SpectRes bins
  std::vector<std::vector<std::int32_t>> map;  // map[c][i] = grid index of camera c's pixel i
};
BrzGrid make_brz_grid(const std::vector<CameraData>& cameras, const std::filesystem::path& file);

// Combines chunk row `row` of every camera onto the grid. A camera pixel is usable when its
// flux and ivar are finite, ivar > 0, flux != 0 and (mask & bad_mask_bits) == 0; usable pixels
// are combined with ivar weights (flux = Σ ivar·f / Σ ivar, ivar = Σ ivar, as coadd_cameras in
// the overlaps) and a grid pixel is good when any camera gave it a usable value.
void combine_cameras(const std::vector<CameraData>& cameras, const BrzGrid& grid, std::size_t row,
                     std::uint32_t bad_mask_bits, std::span<double> flux, std::span<double> ivar,
                     std::span<std::uint8_t> good);

// Median of flux·sqrt(ivar) over good observed pixels whose rest-frame wavelength λ/(1+z)
// lies inside [wave_min, wave_max]; returns false when there is no such pixel. An even count
// gives the mean of the two middle values (numpy.median).
bool median_snr(std::span<const double> wave, std::span<const double> flux, std::span<const double> ivar,
                std::span<const std::uint8_t> good, double z, double wave_min, double wave_max, double& snr,
                std::vector<double>& scratch);

// Replaces the flux of every pixel that is not good by linear interpolation in wavelength
// between the nearest good pixels (held constant beyond the first/last good pixel).
// Returns false when no pixel is good.
bool interpolate_bad_pixels(std::span<const double> wave, std::span<double> flux, std::span<const std::uint8_t> good);

// One spectrum from the combined observed frame to the rest-frame bins. Convention: rest-frame
// flux density f_rest(λ/(1+z)) = (1+z)·f_obs(λ) (energy per unit wavelength is conserved), so
// σ_rest = (1+z)·σ_obs; the factor disappears at the unit-norm step but is applied consistently.
// Works in place on flux (interpolated). Scratch buffers are kept between calls.
class SpectrumPreparer {
 public:
  explicit SpectrumPreparer(const RestGrid& grid);
  const RestGrid& grid() const { return grid_; }
  const std::vector<double>& rest_edges() const { return rest_edges_; }

  // Returns false (nothing written) when no good pixel falls inside the rest-frame window.
  // Otherwise writes n_bins values: flux, ivar (1/σ², 0 where masked), mask (1 = bad bin).
  bool prepare(const BrzGrid& obs, std::span<double> flux, std::span<const double> ivar,
               std::span<const std::uint8_t> good, double z, float& snr, std::span<float> out_flux,
               std::span<float> out_ivar, std::span<std::uint8_t> out_mask);

 private:
  RestGrid grid_;
  std::vector<double> rest_edges_;
  std::vector<double> in_edges_, sigma_, out_flux_, out_sigma_, scratch_;
  std::vector<std::uint8_t> bad_;
};

}  // namespace specvae::ingest
