// What is in the simulated survey: the survey specification (simulate.* config keys) and,
// for each object index, its class, anomaly kind, redshift, brightness and the physical
// parameters the renderer turns into a spectrum. Every object is a pure function of
// (seed, index), drawn from its own counter-based stream.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "specvae/core/config.hpp"

namespace specvae::sim {

enum class ObjectClass : std::uint8_t { kGalaxy = 0, kQso = 1, kStar = 2 };

enum class AnomalyKind : std::uint8_t {
  kNone = 0,
  kExtremeEmitter,
  kBroadLineAgn,
  kWrongZQso,
  kStarAsGalaxy,
  kCameraStep,
  kSkyDip,
  kBadPixelRun,
  kCataclysmicVariable,
  kWhiteDwarf,
  kCount
};
inline constexpr int kNumAnomalyKinds = static_cast<int>(AnomalyKind::kCount);

// "normal", "extreme_emitter", ... (the config key suffix and the truth.csv spelling).
const char* anomaly_name(AnomalyKind kind);
// "GALAXY", "QSO", "STAR" (redrock SPECTYPE spelling).
const char* class_name(ObjectClass cls);

struct SurveySpec {
  std::int64_t n_spectra = 0;
  std::int64_t spectra_per_file = 0;
  std::uint64_t seed = 0;
  std::string survey, program;
  double z_min = 0, z_max = 0.6;
  double frac_qso = 0, frac_star = 0;
  double mag_r_min = 14, mag_r_max = 20.175;
  double exptime = 180;
  bool write_resolution = true;  // simulate.resolution
  bool compress = false;          // simulate.compress = "rice"
  std::array<double, kNumAnomalyKinds> anomaly_fraction{};  // indexed by AnomalyKind

  static SurveySpec from_config(const Config& config);
  std::int64_t n_groups() const { return (n_spectra + spectra_per_file - 1) / spectra_per_file; }
};

// TARGETIDs: the desitarget MOCK bit (58) plus the object index, unique and deterministic.
inline constexpr std::int64_t kTargetIdOffset = std::int64_t{1} << 58;

// A Gaussian feature in the rest frame. Emission: `strength` is the observed line flux in
// 1e-17 erg/s/cm². Absorption: `strength` is the rest-frame equivalent width in Å.
struct SpectralLine {
  float rest = 0;        // Å
  float strength = 0;
  float sigma_rest = 0;  // intrinsic Gaussian sigma, rest-frame Å (kinematics and pressure)
  bool emission = true;
};
inline constexpr int kMaxLines = 96;

struct ObjectParams {
  std::int64_t index = 0, targetid = 0;
  ObjectClass true_class = ObjectClass::kGalaxy;
  const char* subtype = "";           // e.g. STARFORMING, PASSIVE, M, WD, CV
  AnomalyKind anomaly = AnomalyKind::kNone;
  double z = 0;                       // true redshift (stars: v/c)
  ObjectClass reported_class = ObjectClass::kGalaxy;
  const char* reported_subtype = "";
  double z_reported = 0;              // before the redshift error drawn at rendering
  bool z_reported_is_true = true;     // false when the label is deliberately wrong

  double mag_r = 0;                   // total r (AB)
  double fiber_frac = 1;              // fibre / total flux
  double mag_g = 0, mag_z = 0;        // total g, z (AB), from the continuum

  // Continuum (observed frame): Σ weight_k T_k(λ/(1+z)) * 10^(-0.4 E k(λ/(1+z))) * (λ/(1+z)/5500)^tilt
  //   + powerlaw_amp * (λ_rest/5000)^powerlaw_slope
  int ntemplates = 0;
  std::array<int, 3> template_id{};
  std::array<float, 3> template_weight{};
  float dust_ebv = 0;                 // Calzetti E(B-V) of the stellar continuum
  float tilt = 0;                     // colour of the part of the galaxy the fibre sees (aperture
                                      // gradient) and of its spectrophotometric calibration
  float powerlaw_amp = 0, powerlaw_slope = 0;
  bool lya_forest = false;            // mean Lyα forest transmission blueward of 1216 Å

  int nlines = 0;
  std::array<SpectralLine, kMaxLines> lines{};

  // Instrumental anomalies applied after the noise.
  float camera_step = 1;              // b-camera calibration factor
  float sky_dip = 0;                  // fraction of the sky over-subtracted (anomaly)
  float sky_residual = 0;             // ordinary sky-subtraction error of every spectrum: a fraction
  float sky_shift = 0;                // of the sky (±) and a wavelength offset of the sky model (pixels)
  int bad_camera = -1, bad_start = 0, bad_length = 0;
  float bad_level = 0;                // value of the unmasked bad run, in units of the median flux

  double ra = 0, dec = 0;
  int healpix = 0;

  void add_line(float rest, float strength, float sigma_rest, bool emission) {
    if (nlines < kMaxLines) lines[static_cast<std::size_t>(nlines++)] = SpectralLine{rest, strength, sigma_rest, emission};
  }
};

// Draws object `index` (0 ≤ index < n_spectra) of the survey.
ObjectParams draw_object(const SurveySpec& spec, std::int64_t index);

// Observed-frame continuum f_λ (flux units) of an object at wavelength λ, without lines.
double continuum_at(const ObjectParams& p, double lambda_obs);

// AB magnitude → f_λ in 1e-17 erg/s/cm²/Å at λ (Å).
double ab_to_flambda(double mag, double lambda);

}  // namespace specvae::sim
