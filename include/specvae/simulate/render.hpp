// Turns an object's parameters into what DESI would deliver for one coadded spectrum: the
// noiseless observed-frame model on the b/r/z grids (continuum templates, analytic lines
// broadened by the LSF), Poisson + read noise with the matching IVAR, cosmic rays and bad
// columns (masked, ivar 0), and the instrumental anomalies. Also the numbers that go into the
// SCORES, REDSHIFTS and truth tables.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "specvae/simulate/instrument.hpp"
#include "specvae/simulate/population.hpp"

namespace specvae::sim {

// Pixels of one camera ruined by a bad CCD column for some rows of a file.
struct BadColumn {
  int camera = 0;
  int start = 0, width = 1;
};

// Where one spectrum's pixels go (rows of the group's image arrays).
struct SpectrumView {
  std::array<float*, kNumCameras> flux{};
  std::array<float*, kNumCameras> ivar{};
  std::array<std::int32_t*, kNumCameras> mask{};
};

struct RenderResult {
  float snr = 0;  // median over b/r/z pixels of model/σ (noiseless S/N per 0.8 Å pixel)
  std::array<float, kNumCameras> median_flux{}, median_snr{}, integ_flux{};  // SCORES (per camera window)
  double z_reported = 0, zerr = 0, deltachi2 = 0, chi2 = 0;
  std::int64_t zwarn = 0, npixels = 0;
};

class Renderer {
 public:
  explicit Renderer(const Instrument& instrument);

  // The noiseless observed model of an object (flux units) per camera, without noise,
  // defects or instrumental anomalies. Valid until the next call.
  const std::array<std::vector<float>, kNumCameras>& model(const ObjectParams& p);

  // Full spectrum: model, noise, defects and anomalies written to `out`.
  RenderResult render(const ObjectParams& p, std::uint64_t seed, std::span<const BadColumn> bad_columns,
                      const SpectrumView& out);

 private:
  void add_lines(const ObjectParams& p);

  const Instrument& inst_;
  std::array<std::vector<double>, kNumCameras> grid_pos_;  // template-grid position of each pixel at z = 0
  std::array<std::vector<float>, kNumCameras> model_, absorb_, emit_, sigma_;
  std::vector<float> scratch_;
  std::vector<int> index_;    // template-grid index of each pixel (one camera)
  std::vector<float> frac_;   // and its interpolation weight
};

// exp(-x²/2) from a table (|x| < 6), linearly interpolated: the line profiles' inner loop.
float gauss_shape(float x);

}  // namespace specvae::sim
