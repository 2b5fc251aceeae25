// The simulated DESI spectrograph: the three cameras on their 0.8 Å grids, a Gaussian
// line-spread function (the same one the RESOLUTION HDU encodes), throughput and flux
// calibration, the sky spectrum seen through a fibre, and the noise model (Poisson + read).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace specvae::sim {

inline constexpr int kNumCameras = 3;
inline constexpr int kResolutionDiagonals = 11;  // DESI stores 11 diagonals (offsets +5..-5)
inline constexpr double kPixelAngstrom = 0.8;

// SPECMASK bits (desispec/maskbits.py) the simulator sets.
inline constexpr std::int32_t kMaskCosmic = 1 << 2;
inline constexpr std::int32_t kMaskBadColumn = 1 << 10;

struct Camera {
  std::string name;                // "b", "r", "z"
  double wave_min = 0;             // Å, first pixel centre
  int nwave = 0;
  std::vector<double> wave;        // pixel centres, wave_min + i*0.8 (as np.arange does)
  std::vector<float> sigma_lsf;    // Gaussian LSF sigma in Å per pixel
  std::vector<float> lsf_var_pix;  // sigma_lsf² + Δ²/12: the LSF plus the pixel boxcar, Å²
  std::vector<float> inv_calib;    // flux units (1e-17 erg/s/cm²/Å) per detected electron
  std::vector<float> sky;          // sky through the fibre, flux units, LSF-convolved
  std::vector<float> base_var;     // sky shot noise + read noise variance, flux units²
  std::vector<float> resolution;   // [11 * nwave] diagonals, DESI layout (row d = offset 5-d)

  double wave_max() const { return wave.back(); }
  // Fractional pixel index of a wavelength (may lie outside [0, nwave)).
  double pixel_of(double lambda) const { return (lambda - wave_min) / kPixelAngstrom; }
};

struct Instrument {
  double exptime = 0;  // s
  std::array<Camera, kNumCameras> cameras;
};

// Builds the instrument for an exposure time (sets calibration, sky and noise levels).
Instrument make_instrument(double exptime);

// Spectral resolution R = λ / FWHM of the LSF at a wavelength in a camera (0 = b, 1 = r, 2 = z).
double resolution_power(int camera, double lambda);

}  // namespace specvae::sim
