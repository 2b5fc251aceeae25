// Parametric rest-frame continua (see templates.hpp). Shapes: Planck curves for the light of
// the dominant stars, a logistic 4000 Å break (old populations, D4000 ≈ 2) or Balmer jump
// (A-type light), blanketing by metal lines in the blue of cool stars, and TiO band heads
// with red-degraded wings for M stars.
#include "specvae/simulate/templates.hpp"

#include <algorithm>
#include <cmath>

#include "specvae/core/error.hpp"

namespace specvae::sim {
namespace {

double planck(double lambda, double teff) {
  const double x = 1.4387769e8 / (lambda * teff);  // hc/(λkT), λ in Å
  if (x > 700) return 0.0;
  return 1.0 / (std::pow(lambda / 5000.0, 5.0) * std::expm1(x));
}

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// A break at `center`: flux blueward is lower by a factor `strength` (D = red/blue).
double step_break(double lambda, double center, double width, double strength) {
  return 1.0 / (1.0 + (strength - 1.0) * logistic((center - lambda) / width));
}

double blue_blanketing(double lambda, double teff) {
  const double b = std::clamp((6500.0 - teff) / 3000.0, 0.0, 0.75);
  return 1.0 - b * std::exp(-(lambda - 3000.0) / 900.0);
}

// TiO band heads (Å) and depths at full strength; the bands fade redward of each head.
double tio_bands(double lambda, double teff) {
  const double s = std::clamp((4100.0 - teff) / 1100.0, 0.0, 1.0);
  if (s <= 0) return 1.0;
  struct Band {
    double head, depth, length;
  };
  static const Band bands[] = {{4761, 0.35, 80},  {4954, 0.50, 90},  {5167, 0.55, 110}, {5448, 0.50, 120},
                               {5847, 0.45, 110}, {6159, 0.55, 140}, {6651, 0.40, 120}, {7054, 0.65, 180},
                               {7589, 0.45, 150}, {8432, 0.30, 120}, {8859, 0.30, 150}};
  double f = 1.0;
  for (const Band& b : bands) {
    if (lambda < b.head - 3) continue;
    const double rise = logistic((lambda - b.head) / 1.0);  // sharp head
    f *= 1.0 - s * b.depth * rise * std::exp(-std::max(0.0, lambda - b.head) / b.length);
  }
  return f;
}

double star_continuum(double lambda, double teff) {
  double f = planck(lambda, teff) * blue_blanketing(lambda, teff) * tio_bands(lambda, teff);
  // Balmer jump, strongest for A stars (~9000 K).
  const double jump = 1.0 + 1.2 * std::exp(-0.5 * std::pow((std::log(teff) - std::log(9000.0)) / 0.35, 2));
  f *= step_break(lambda, 3646.0, 12.0, jump);
  // Ca II H&K / 4000 Å break of cool stars.
  const double d4000 = 1.0 + std::clamp((6500.0 - teff) / 2500.0, 0.0, 1.2);
  f *= step_break(lambda, 3950.0, 25.0, d4000);
  return f;
}

double old_population(double lambda) {
  double f = planck(lambda, 4700.0) * blue_blanketing(lambda, 4700.0);
  f *= step_break(lambda, 3960.0, 30.0, 2.4);  // D4000 of an old population ≈ 2.2 with its lines
  if (lambda < 2900) f *= std::pow(lambda / 2900.0, 3.0);  // UV decline of an old population
  return f;
}

double young_population(double lambda) {
  return planck(lambda, 17000.0) * step_break(lambda, 3646.0, 15.0, 1.12);
}

double intermediate_population(double lambda) {
  return planck(lambda, 8800.0) * step_break(lambda, 3646.0, 15.0, 1.7) * step_break(lambda, 3960.0, 30.0, 1.15);
}

}  // namespace

double calzetti_k(double lambda) {
  const double x = 1e4 / lambda;  // inverse microns
  if (lambda >= 6300.0) return 2.659 * (-1.857 + 1.040 * x) + 4.05;
  return 2.659 * (-2.156 + 1.509 * x - 0.198 * x * x + 0.011 * x * x * x) + 4.05;
}

RestTemplates::RestTemplates() {
  ln_min_ = std::log(kLambdaMin);
  n_ = static_cast<int>(std::ceil((std::log(kLambdaMax) - ln_min_) / kDln)) + 1;
  for (double t = 2800.0; t < 42000.0; t *= 1.07) teff_.push_back(t);  // 7% steps: smooth in Teff
  const int ntemplates = kStarBase + static_cast<int>(teff_.size());
  values_.assign(static_cast<std::size_t>(ntemplates), std::vector<float>(static_cast<std::size_t>(n_)));
  cumulative_.assign(static_cast<std::size_t>(ntemplates), std::vector<double>(static_cast<std::size_t>(n_)));
  for (int id = 0; id < ntemplates; ++id) {
    std::vector<float>& v = values_[static_cast<std::size_t>(id)];
    for (int i = 0; i < n_; ++i) {
      const double lam = std::exp(ln_min_ + kDln * i);
      double f;
      if (id == kOld) f = old_population(lam);
      else if (id == kYoung) f = young_population(lam);
      else if (id == kIntermediate) f = intermediate_population(lam);
      else f = star_continuum(lam, teff_[static_cast<std::size_t>(id - kStarBase)]);
      v[static_cast<std::size_t>(i)] = static_cast<float>(f);
    }
    // Normalise each template to a mean of 1 over 5400-5600 Å so mixture weights read as
    // fractions of the V-band light.
    double sum = 0;
    int count = 0;
    for (int i = 0; i < n_; ++i) {
      const double lam = std::exp(ln_min_ + kDln * i);
      if (lam >= 5400 && lam <= 5600) {
        sum += v[static_cast<std::size_t>(i)];
        ++count;
      }
    }
    SPECVAE_CHECK(count > 0 && sum > 0, "template {} has no flux at 5500 Å", id);
    const double scale = count / sum;
    std::vector<double>& cum = cumulative_[static_cast<std::size_t>(id)];
    double acc = 0;
    for (int i = 0; i < n_; ++i) {
      v[static_cast<std::size_t>(i)] = static_cast<float>(v[static_cast<std::size_t>(i)] * scale);
      cum[static_cast<std::size_t>(i)] = acc;
      const double lam = std::exp(ln_min_ + kDln * i);
      acc += v[static_cast<std::size_t>(i)] * lam * kDln;  // dλ = λ d ln λ
    }
  }
}

double RestTemplates::position(double lambda_rest) const { return (std::log(lambda_rest) - ln_min_) / kDln; }

float RestTemplates::at(int id, double lambda_rest) const {
  const double p = position(lambda_rest);
  if (p < 0 || p >= n_ - 1) return 0.0f;
  const int i = static_cast<int>(p);
  const float t = static_cast<float>(p - i);
  const float* v = data(id);
  return v[i] + t * (v[i + 1] - v[i]);
}

double RestTemplates::mean(int id, double lo, double hi) const {
  const double p0 = std::clamp(position(lo), 0.0, n_ - 1.0);
  const double p1 = std::clamp(position(hi), 0.0, n_ - 1.0);
  const std::vector<double>& cum = cumulative_[static_cast<std::size_t>(id)];
  auto interp = [&](double p) {
    const int i = std::min(static_cast<int>(p), n_ - 2);
    return cum[static_cast<std::size_t>(i)] + (p - i) * (cum[static_cast<std::size_t>(i) + 1] - cum[static_cast<std::size_t>(i)]);
  };
  const double width = std::exp(ln_min_ + kDln * p1) - std::exp(ln_min_ + kDln * p0);
  return width > 0 ? (interp(p1) - interp(p0)) / width : 0.0;
}

void RestTemplates::star_pair(double teff, int& id_lo, int& id_hi, float& w_hi) const {
  const double t = std::clamp(teff, teff_.front(), teff_.back());
  std::size_t k = 0;
  while (k + 2 < teff_.size() && teff_[k + 1] < t) ++k;
  id_lo = kStarBase + static_cast<int>(k);
  id_hi = id_lo + 1;
  w_hi = static_cast<float>((std::log(t) - std::log(teff_[k])) / (std::log(teff_[k + 1]) - std::log(teff_[k])));
  w_hi = std::clamp(w_hi, 0.0f, 1.0f);
}

const RestTemplates& rest_templates() {
  static const RestTemplates templates;
  return templates;
}

}  // namespace specvae::sim
