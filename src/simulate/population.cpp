// The survey population (see population.hpp): class and anomaly assignment, BGS-like
// redshifts and magnitudes from a luminosity function behind a magnitude limit, sky
// positions inside each file's HEALPix pixel, and the wrong labels of the anomalies.
#include "specvae/simulate/population.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "specvae/core/error.hpp"
#include "specvae/simulate/physics.hpp"
#include "specvae/simulate/templates.hpp"

namespace specvae::sim {
namespace {

// Luminosity distance modulus for flat ΛCDM (H0 = 70, Ωm = 0.3), tabulated to z = 4.
class DistanceModulus {
 public:
  DistanceModulus() {
    const double c_over_h0 = 299792.458 / 70.0;  // Mpc
    dc_.resize(kN + 1);
    double acc = 0, prev = 1.0;
    dc_[0] = 0;
    for (int i = 1; i <= kN; ++i) {
      const double z = i * kStep;
      const double inv_e = 1.0 / std::sqrt(0.3 * std::pow(1 + z, 3) + 0.7);
      acc += 0.5 * (prev + inv_e) * kStep;
      prev = inv_e;
      dc_[static_cast<std::size_t>(i)] = c_over_h0 * acc;
    }
  }
  double comoving(double z) const {
    const double p = std::clamp(z / kStep, 0.0, kN - 1e-9);
    const int i = static_cast<int>(p);
    return dc_[static_cast<std::size_t>(i)] + (p - i) * (dc_[static_cast<std::size_t>(i) + 1] - dc_[static_cast<std::size_t>(i)]);
  }
  double modulus(double z) const { return 5.0 * std::log10(std::max((1 + z) * comoving(z), 1e-6)) + 25.0; }

 private:
  static constexpr int kN = 4000;
  static constexpr double kStep = 0.001;
  std::vector<double> dc_;
};

const DistanceModulus& distance_modulus() {
  static const DistanceModulus dm;
  return dm;
}

// Centre of a nested HEALPix pixel (nside 64, as DESI's healpix coadds), in degrees.
void healpix_centre_nest64(int pix, double& ra, double& dec) {
  const int nside = 64;
  const int npface = nside * nside;
  const int face = (pix / npface) % 12;
  const int ipf = pix % npface;
  auto compress = [](int v) {
    int r = 0;
    for (int b = 0; b < 16; ++b) r |= ((v >> (2 * b)) & 1) << b;
    return r;
  };
  const int ix = compress(ipf), iy = compress(ipf >> 1);
  static const int jrll[12] = {2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4};
  static const int jpll[12] = {1, 3, 5, 7, 0, 2, 4, 6, 1, 3, 5, 7};
  const double npix = 12.0 * npface, fact2 = 4.0 / npix, fact1 = 2.0 * nside * fact2;
  const int jr = jrll[face] * nside - ix - iy - 1;
  int nr, kshift;
  double z;
  if (jr < nside) {
    nr = jr;
    z = 1 - nr * nr * fact2;
    kshift = 0;
  } else if (jr > 3 * nside) {
    nr = 4 * nside - jr;
    z = nr * nr * fact2 - 1;
    kshift = 0;
  } else {
    nr = nside;
    z = (2 * nside - jr) * fact1;
    kshift = (jr - nside) & 1;
  }
  int jp = (jpll[face] * nr + ix - iy + 1 + kshift) / 2;
  if (jp > 4 * nside) jp -= 4 * nside;
  if (jp < 1) jp += 4 * nside;
  const double phi = (jp - (kshift + 1) * 0.5) * (M_PI / 2 / nr);
  ra = phi * 180.0 / M_PI;
  dec = std::asin(std::clamp(z, -1.0, 1.0)) * 180.0 / M_PI;
}

// Redshift and absolute/apparent magnitude of a galaxy behind the magnitude limits: z from
// a volume-weighted distribution, M_r from a Gaussian luminosity function, kept when the
// apparent magnitude (with a mean k-correction of ~1 mag per unit z) is in range.
void draw_galaxy_z_mag(SimStream& s, double z_lo, double z_hi, double m_lo, double m_hi, double& z, double& abs_mag,
                       double& mag) {
  const DistanceModulus& dm = distance_modulus();
  z_lo = std::max(z_lo, 0.002);
  for (int attempt = 0; attempt < 400; ++attempt) {
    const double u = s.uniform();
    z = std::cbrt(z_lo * z_lo * z_lo + u * (z_hi * z_hi * z_hi - z_lo * z_lo * z_lo));
    abs_mag = std::clamp(s.normal(-20.2, 1.0), -23.5, -15.0);  // gives BGS-like median z ≈ 0.25
    mag = abs_mag + dm.modulus(z) + 1.0 * z;
    if (mag >= m_lo && mag <= m_hi) return;
  }
  mag = std::clamp(mag, m_lo, m_hi);  // unreachable limits: keep the last z, clamp the magnitude
}

// Fibre fraction of a galaxy: half-light radius ~3 kpc scaled with luminosity, seen through
// a 1.5" fibre in ~1.1" seeing (0.78 for a point source).
double galaxy_fiber_fraction(double z, double abs_mag) {
  const double da = distance_modulus().comoving(z) / (1 + z);  // Mpc
  const double r_half_kpc = 3.0 * std::pow(10.0, -0.2 * (abs_mag + 21.0));
  const double theta = r_half_kpc / (da * 1000.0) * 206264.8;  // arcsec
  return 0.78 / (1.0 + std::pow(theta / 0.9, 1.3));
}

}  // namespace

const char* anomaly_name(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::kNone: return "normal";
    case AnomalyKind::kExtremeEmitter: return "extreme_emitter";
    case AnomalyKind::kBroadLineAgn: return "broad_line_agn";
    case AnomalyKind::kWrongZQso: return "wrong_z_qso";
    case AnomalyKind::kStarAsGalaxy: return "star_as_galaxy";
    case AnomalyKind::kCameraStep: return "camera_step";
    case AnomalyKind::kSkyDip: return "sky_dip";
    case AnomalyKind::kBadPixelRun: return "bad_pixel_run";
    case AnomalyKind::kCataclysmicVariable: return "cataclysmic_variable";
    case AnomalyKind::kWhiteDwarf: return "white_dwarf";
    case AnomalyKind::kCount: break;
  }
  return "?";
}

const char* class_name(ObjectClass cls) {
  switch (cls) {
    case ObjectClass::kGalaxy: return "GALAXY";
    case ObjectClass::kQso: return "QSO";
    case ObjectClass::kStar: return "STAR";
  }
  return "?";
}

SurveySpec SurveySpec::from_config(const Config& config) {
  SurveySpec s;
  s.n_spectra = config.get_int("simulate.n_spectra");
  s.spectra_per_file = config.get_int("simulate.spectra_per_file");
  s.seed = static_cast<std::uint64_t>(config.get_int("simulate.seed"));
  s.survey = config.get_string("simulate.survey");
  s.program = config.get_string("simulate.program");
  s.z_min = config.get_double("simulate.z_min");
  s.z_max = config.get_double("simulate.z_max");
  s.frac_qso = config.get_double("simulate.frac_qso");
  s.frac_star = config.get_double("simulate.frac_star");
  s.mag_r_min = config.get_double("simulate.mag_r_min");
  s.mag_r_max = config.get_double("simulate.mag_r_max");
  s.exptime = config.get_double("simulate.exptime");
  s.write_resolution = config.get_bool("simulate.resolution");
  s.compress = config.get_string("simulate.compress") == "rice";
  double total = s.frac_qso + s.frac_star;
  for (int k = 1; k < kNumAnomalyKinds; ++k) {
    const auto kind = static_cast<AnomalyKind>(k);
    s.anomaly_fraction[static_cast<std::size_t>(k)] = config.get_double(std::string("simulate.anomaly.") + anomaly_name(kind));
    total += s.anomaly_fraction[static_cast<std::size_t>(k)];
  }
  if (total > 1.0)
    throw ConfigError(fmt::format("simulate: frac_qso + frac_star + anomaly fractions = {} exceeds 1", total));
  if (s.z_max <= s.z_min) throw ConfigError(fmt::format("simulate: z_max ({}) must exceed z_min ({})", s.z_max, s.z_min));
  if (s.mag_r_max <= s.mag_r_min)
    throw ConfigError(fmt::format("simulate: mag_r_max ({}) must exceed mag_r_min ({})", s.mag_r_max, s.mag_r_min));
  return s;
}

double ab_to_flambda(double mag, double lambda) {
  const double fnu = std::pow(10.0, -0.4 * (mag + 48.6));  // erg/s/cm²/Hz
  return fnu * 2.99792458e18 / (lambda * lambda) * 1e17;
}

double continuum_at(const ObjectParams& p, double lambda_obs) {
  const RestTemplates& tpl = rest_templates();
  const double rest = lambda_obs / (1.0 + p.z);
  double f = 0;
  for (int k = 0; k < p.ntemplates; ++k)
    f += p.template_weight[static_cast<std::size_t>(k)] * tpl.at(p.template_id[static_cast<std::size_t>(k)], rest);
  if (p.dust_ebv > 0) f *= std::pow(10.0, -0.4 * p.dust_ebv * calzetti_k(rest));
  if (p.tilt != 0) f *= std::pow(rest / 5500.0, static_cast<double>(p.tilt));
  if (p.powerlaw_amp != 0) {
    double pl = p.powerlaw_amp * std::pow(rest / 5000.0, static_cast<double>(p.powerlaw_slope));
    if (p.lya_forest && rest < 1215.67) {
      pl *= std::exp(-0.0036 * std::pow(lambda_obs / 1215.67, 3.7));  // mean forest transmission
      if (rest < 912.0) pl *= 0.1;                                    // Lyman limit
    }
    f += pl;
  }
  return f;
}

ObjectParams draw_object(const SurveySpec& spec, std::int64_t index) {
  SPECVAE_CHECK(index >= 0 && index < spec.n_spectra, "object index {} outside [0, {})", index, spec.n_spectra);
  ObjectParams p;
  p.index = index;
  p.targetid = kTargetIdOffset + index;
  SimStream s(spec.seed, StreamPurpose::kObject, static_cast<std::uint64_t>(index));

  // Class and anomaly from one uniform draw against the cumulative fractions.
  const double u = s.uniform();
  double acc = 0;
  for (int k = 1; k < kNumAnomalyKinds; ++k) {
    acc += spec.anomaly_fraction[static_cast<std::size_t>(k)];
    if (u < acc) {
      p.anomaly = static_cast<AnomalyKind>(k);
      break;
    }
  }
  if (p.anomaly == AnomalyKind::kNone) {
    if (u < acc + spec.frac_qso) p.true_class = ObjectClass::kQso;
    else if (u < acc + spec.frac_qso + spec.frac_star) p.true_class = ObjectClass::kStar;
  }

  // Position: inside the file's HEALPix pixel (files play the role of DESI's healpix groups).
  p.healpix = static_cast<int>((index / spec.spectra_per_file) % (12 * 64 * 64));
  double ra0, dec0;
  healpix_centre_nest64(p.healpix, ra0, dec0);
  const double rr = 0.25 * std::sqrt(s.uniform()), th = 2 * M_PI * s.uniform();  // within 0.25°
  p.dec = std::clamp(dec0 + rr * std::sin(th), -90.0, 90.0);
  p.ra = std::fmod(ra0 + rr * std::cos(th) / std::max(std::cos(dec0 * M_PI / 180.0), 0.05) + 360.0, 360.0);

  // Anomalies must survive the default selection (z ≤ 0.3, S/N > 5): they are labelled as
  // galaxies with z in [0.02, 0.28] and get bright fibre magnitudes.
  // Their fibre magnitudes scale with the exposure time (S/N ∝ flux x time where read and
  // object noise dominate) so their S/N stays ~9-25 whatever simulate.exptime is.
  const double anomaly_fiber_mag = s.uniform(18.4, 19.8) + 2.5 * std::log10(spec.exptime / 600.0);
  const double point_fiber = 0.78;
  double z, abs_mag, mag;
  switch (p.anomaly) {
    case AnomalyKind::kNone: {
      if (p.true_class == ObjectClass::kGalaxy) {
        draw_galaxy_z_mag(s, spec.z_min, spec.z_max, spec.mag_r_min, spec.mag_r_max, z, abs_mag, mag);
        p.z = z;
        p.mag_r = mag;
        p.fiber_frac = galaxy_fiber_fraction(z, abs_mag);
        build_galaxy(p, s, abs_mag, ab_to_flambda(mag - 2.5 * std::log10(p.fiber_frac), 6300.0), GalaxyFlavor::kNormal);
      } else if (p.true_class == ObjectClass::kQso) {
        const double v = s.uniform();  // bright-time quasars: mostly 0.5 < z < 2.5
        p.z = v < 0.25 ? s.uniform(0.1, 0.6) : v < 0.8 ? s.uniform(0.6, 2.0) : s.uniform(2.0, 3.0);
        p.mag_r = std::max(spec.mag_r_min, spec.mag_r_max - 3.0 * std::pow(s.uniform(), 0.6));  // steep counts
        p.fiber_frac = point_fiber;
        build_qso(p, s, ab_to_flambda(p.mag_r - 2.5 * std::log10(p.fiber_frac), 6300.0));
        p.reported_class = ObjectClass::kQso;
      } else {
        p.mag_r = spec.mag_r_min + (spec.mag_r_max - spec.mag_r_min) * std::pow(s.uniform(), 0.5);
        p.fiber_frac = point_fiber;
        p.z = s.normal(0.0, 40.0) / kSpeedOfLightKms;
        const double f = ab_to_flambda(p.mag_r - 2.5 * std::log10(p.fiber_frac), 6300.0);
        if (s.bernoulli(0.03)) build_white_dwarf(p, s, f);
        else build_star(p, s, draw_star_teff(s), f);
        p.reported_class = ObjectClass::kStar;
        p.reported_subtype = p.subtype;
      }
      p.z_reported = p.z;
      break;
    }
    case AnomalyKind::kExtremeEmitter:
    case AnomalyKind::kBroadLineAgn:
    case AnomalyKind::kCameraStep:
    case AnomalyKind::kSkyDip:
    case AnomalyKind::kBadPixelRun: {
      draw_galaxy_z_mag(s, 0.02, 0.28, 14.0, 19.5, z, abs_mag, mag);
      p.z = z;
      p.fiber_frac = galaxy_fiber_fraction(z, abs_mag);
      p.mag_r = anomaly_fiber_mag + 2.5 * std::log10(p.fiber_frac);
      const GalaxyFlavor flavor = p.anomaly == AnomalyKind::kExtremeEmitter ? GalaxyFlavor::kExtremeEmitter
                                  : p.anomaly == AnomalyKind::kBroadLineAgn ? GalaxyFlavor::kBroadLineAgnHost
                                                                            : GalaxyFlavor::kNormal;
      build_galaxy(p, s, abs_mag, ab_to_flambda(anomaly_fiber_mag, 6300.0), flavor);
      if (p.anomaly == AnomalyKind::kBroadLineAgn) p.true_class = ObjectClass::kQso;
      p.z_reported = p.z;
      if (p.anomaly == AnomalyKind::kCameraStep)
        p.camera_step = static_cast<float>(s.bernoulli(0.5) ? s.uniform(0.5, 0.72) : s.uniform(1.4, 1.8));
      if (p.anomaly == AnomalyKind::kSkyDip) p.sky_dip = static_cast<float>(s.uniform(0.4, 0.8));  // enough to dig below zero under bright targets
      if (p.anomaly == AnomalyKind::kBadPixelRun) {
        // A run inside the rest-frame window the VAE sees (3600-7556 Å).
        const double lam = s.uniform(3800.0, 7300.0) * (1 + p.z);
        p.bad_camera = lam < 5780 ? 0 : lam < 7570 ? 1 : 2;
        p.bad_length = 15 + static_cast<int>(s.below(46));
        p.bad_start = static_cast<int>((lam - (p.bad_camera == 0 ? 3600.0 : p.bad_camera == 1 ? 5760.0 : 7520.0)) / 0.8);
        p.bad_level = static_cast<float>(s.bernoulli(0.7) ? s.uniform(8.0, 25.0) : -s.uniform(5.0, 15.0));
      }
      break;
    }
    case AnomalyKind::kWrongZQso:
      p.true_class = ObjectClass::kQso;
      p.z = s.uniform(1.8, 2.4);
      p.fiber_frac = point_fiber;
      p.mag_r = anomaly_fiber_mag + 2.5 * std::log10(p.fiber_frac);
      build_qso(p, s, ab_to_flambda(anomaly_fiber_mag, 6300.0));
      p.z_reported = s.uniform(0.2, 0.28);
      p.z_reported_is_true = false;
      break;
    case AnomalyKind::kStarAsGalaxy:
    case AnomalyKind::kCataclysmicVariable:
    case AnomalyKind::kWhiteDwarf: {
      p.true_class = ObjectClass::kStar;
      p.z = s.normal(0.0, 40.0) / kSpeedOfLightKms;
      p.fiber_frac = point_fiber;
      p.mag_r = anomaly_fiber_mag + 2.5 * std::log10(p.fiber_frac);
      const double f = ab_to_flambda(anomaly_fiber_mag, 6300.0);
      if (p.anomaly == AnomalyKind::kStarAsGalaxy) build_star(p, s, std::exp(s.uniform(std::log(3200.0), std::log(7000.0))), f);
      else if (p.anomaly == AnomalyKind::kWhiteDwarf) build_white_dwarf(p, s, f);
      else build_cataclysmic_variable(p, s, f);
      p.z_reported = s.uniform(0.03, 0.25);
      p.z_reported_is_true = false;
      break;
    }
    case AnomalyKind::kCount: break;
  }
  // Every spectrum's ordinary sky-subtraction error (not an anomaly: ≈ 0.4% of the sky and
  // ≈ 0.03 pixel, where the anomaly over-subtracts 40-80%).
  p.sky_residual = static_cast<float>(std::clamp(s.normal(0.0, 0.004), -0.015, 0.015));
  p.sky_shift = static_cast<float>(std::clamp(s.normal(0.0, 0.03), -0.1, 0.1));
  // Photometry of the total light from the continuum (g at 4800 Å, z at 9100 Å, AB).
  const double fr = std::max(continuum_at(p, 6300.0), 1e-6);
  p.mag_g = p.mag_r - 2.5 * std::log10(std::max(continuum_at(p, 4800.0), 1e-6) * 4800.0 * 4800.0 / (fr * 6300.0 * 6300.0));
  p.mag_z = p.mag_r - 2.5 * std::log10(std::max(continuum_at(p, 9100.0), 1e-6) * 9100.0 * 9100.0 / (fr * 6300.0 * 6300.0));
  return p;
}

}  // namespace specvae::sim
