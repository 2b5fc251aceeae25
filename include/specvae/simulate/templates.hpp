// Rest-frame continuum templates on a logarithmic wavelength grid, built once per process
// from parametric physics (no external files): old, young and intermediate-age stellar
// populations for galaxies, and a grid of stellar continua in effective temperature.
// Narrow features (absorption and emission lines) are not in the templates: the renderer adds
// them analytically, broadened by velocity dispersion and the instrument's LSF.
#pragma once

#include <vector>

namespace specvae::sim {

class RestTemplates {
 public:
  enum Id : int { kOld = 0, kYoung = 1, kIntermediate = 2, kStarBase = 3 };

  RestTemplates();

  // Linear interpolation at a rest wavelength (Å); 0 outside the grid.
  float at(int id, double lambda_rest) const;
  // Mean f_λ over [lo, hi] Å (rest frame).
  double mean(int id, double lo, double hi) const;
  // Fractional grid position of a rest wavelength (for the renderer's inner loop).
  double position(double lambda_rest) const;
  const float* data(int id) const { return values_[static_cast<std::size_t>(id)].data(); }
  int size() const { return n_; }

  // Stellar templates: ids kStarBase + k for Teff star_teff()[k]; returns the two neighbours
  // of a temperature and the weight of the hotter one.
  const std::vector<double>& star_teff() const { return teff_; }
  void star_pair(double teff, int& id_lo, int& id_hi, float& w_hi) const;

  static constexpr double kLambdaMin = 2000.0;   // Å: z ≤ 0.8 galaxies still cover 3600 Å
  static constexpr double kLambdaMax = 10600.0;  // Å: stars (z ≈ 0) to the end of z camera
  static constexpr double kDln = 1e-4;           // ln λ step: 0.4-1 Å, finer than any template feature

 private:
  int n_ = 0;
  double ln_min_ = 0;
  std::vector<std::vector<float>> values_;
  std::vector<std::vector<double>> cumulative_;  // ∫ f dλ from the grid start, for mean()
  std::vector<double> teff_;
};

// Built on first use (thread-safe).
const RestTemplates& rest_templates();

// Calzetti et al. (2000) attenuation curve k(λ), λ in Å (k(5500) ≈ 4.05).
double calzetti_k(double lambda);

}  // namespace specvae::sim
