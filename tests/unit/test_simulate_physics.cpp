// Physical sanity of simulated spectra: the 4000 Å break, emission lines where the redshift
// puts them, IVAR consistent with the noise actually added, masked pixels flagged and
// zero-weighted, the LSF matching the RESOLUTION diagonals, and the anomalies anomalous.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "specvae/simulate/physics.hpp"
#include "specvae/simulate/simulate.hpp"
#include "specvae/simulate/templates.hpp"

namespace {

using namespace specvae;
using namespace specvae::sim;

SurveySpec test_spec(std::int64_t n = 200000) {
  SurveySpec s = SurveySpec::from_config(Config::defaults());
  s.n_spectra = n;
  s.spectra_per_file = 64;
  return s;
}

// Mean of the noiseless model over an observed wavelength window (all cameras).
double window_mean(const Instrument& inst, const std::array<std::vector<float>, kNumCameras>& m, double lo, double hi) {
  double sum = 0;
  int n = 0;
  for (int c = 0; c < kNumCameras; ++c)
    for (int i = 0; i < inst.cameras[c].nwave; ++i) {
      const double w = inst.cameras[c].wave[i];
      if (w >= lo && w <= hi) {
        sum += m[c][i];
        ++n;
      }
    }
  return n ? sum / n : 0.0;
}

// The first object index of the survey with a given property.
template <typename Pred>
ObjectParams find_object(const SurveySpec& spec, Pred pred) {
  for (std::int64_t i = 0; i < spec.n_spectra; ++i) {
    ObjectParams p = draw_object(spec, i);
    if (pred(p)) return p;
  }
  ADD_FAILURE() << "no object with the property among " << spec.n_spectra;
  return draw_object(spec, 0);
}

TEST(SimulatePhysics, PassiveGalaxyHasA4000Break) {
  const SurveySpec spec = test_spec();
  const Instrument inst = make_instrument(spec.exptime);
  Renderer r(inst);
  int checked = 0;
  for (std::int64_t i = 0; i < 3000 && checked < 20; ++i) {
    const ObjectParams p = draw_object(spec, i);
    if (p.anomaly != AnomalyKind::kNone || std::string(p.subtype) != "PASSIVE" || p.z > 0.3) continue;
    const auto& m = r.model(p);
    const double opz = 1 + p.z;
    // D4000 (Bruzual 1983 windows, f_λ): red 4050-4250 / blue 3750-3950 in the rest frame.
    const double d4000 = window_mean(inst, m, 4050 * opz, 4250 * opz) / window_mean(inst, m, 3750 * opz, 3950 * opz);
    EXPECT_GT(d4000, 1.5) << "object " << i << " z " << p.z;
    EXPECT_LT(d4000, 3.0) << "object " << i;
    ++checked;
  }
  EXPECT_GE(checked, 10);
  // A young, star-forming population has a much weaker break.
  const ObjectParams sf = find_object(spec, [](const ObjectParams& p) {
    return p.anomaly == AnomalyKind::kNone && std::string(p.subtype) == "STARFORMING" && p.template_weight[0] < 0.3f * (p.template_weight[0] + p.template_weight[1] + p.template_weight[2]) && p.z < 0.3;
  });
  const auto& m = r.model(sf);
  const double opz = 1 + sf.z;
  EXPECT_LT(window_mean(inst, m, 4050 * opz, 4250 * opz) / window_mean(inst, m, 3750 * opz, 3950 * opz), 1.4);
}

TEST(SimulatePhysics, ExtremeEmitterHasHalphaAtItsRedshift) {
  SurveySpec spec = test_spec(20000);
  spec.anomaly_fraction[static_cast<std::size_t>(AnomalyKind::kExtremeEmitter)] = 0.2;
  const Instrument inst = make_instrument(spec.exptime);
  Renderer r(inst);
  const ObjectParams p = find_object(spec, [](const ObjectParams& o) { return o.anomaly == AnomalyKind::kExtremeEmitter; });
  EXPECT_GE(p.z_reported, 0.02);
  EXPECT_LE(p.z_reported, 0.28);
  const auto& m = r.model(p);
  // The brightest pixel of the spectrum is Hα or [O III] 5007 at the object's redshift.
  double best = -1, best_wave = 0;
  for (int c = 0; c < kNumCameras; ++c)
    for (int i = 0; i < inst.cameras[c].nwave; ++i)
      if (m[c][i] > best) {
        best = m[c][i];
        best_wave = inst.cameras[c].wave[i];
      }
  const double rest = best_wave / (1 + p.z);
  EXPECT_TRUE(std::abs(rest - 6564.6) < 3 || std::abs(rest - 5008.2) < 3) << "peak at rest " << rest;
  // And it towers over the continuum (EW of hundreds of Å).
  EXPECT_GT(best / window_mean(inst, m, 6000 * (1 + p.z), 6300 * (1 + p.z)), 20.0);
}

TEST(SimulatePhysics, IvarMatchesTheNoiseAdded) {
  const SurveySpec spec = test_spec();
  const Instrument inst = make_instrument(spec.exptime);
  Renderer r(inst);
  std::array<std::vector<float>, kNumCameras> flux, ivar, model;
  std::array<std::vector<std::int32_t>, kNumCameras> mask;
  SpectrumView v;
  for (int c = 0; c < kNumCameras; ++c) {
    flux[c].resize(inst.cameras[c].nwave);
    ivar[c].resize(inst.cameras[c].nwave);
    mask[c].resize(inst.cameras[c].nwave);
    v.flux[c] = flux[c].data();
    v.ivar[c] = ivar[c].data();
    v.mask[c] = mask[c].data();
  }
  // The noise alone (sky subtraction perfect), then with each spectrum's own sky residual: that
  // is a systematic error the pipeline's ivar does not carry, as in real coadds.
  double var_sky = 0;
  for (const bool sky_errors : {false, true}) {
    double sum = 0, sum2 = 0;
    std::int64_t n = 0;
    for (std::int64_t i = 0; i < 60; ++i) {
      ObjectParams p = draw_object(spec, i);
      if (p.anomaly != AnomalyKind::kNone) continue;
      if (!sky_errors) p.sky_residual = p.sky_shift = 0;
      const auto& m = r.model(p);
      for (int c = 0; c < kNumCameras; ++c) model[c] = m[c];
      r.render(p, spec.seed, {}, v);
      for (int c = 0; c < kNumCameras; ++c)
        for (int k = 0; k < inst.cameras[c].nwave; ++k) {
          if (mask[c][k] != 0) continue;
          const double chi = (flux[c][k] - model[c][k]) * std::sqrt(static_cast<double>(ivar[c][k]));
          sum += chi;
          sum2 += chi * chi;
          ++n;
        }
    }
    const double mean = sum / n, var = sum2 / n - mean * mean;
    if (sky_errors) {
      var_sky = var;
      continue;
    }
    EXPECT_NEAR(mean, 0.0, 0.01) << n << " pixels";
    EXPECT_NEAR(var, 1.0, 0.02) << "scatter of (flux - model) * sqrt(ivar) over " << n << " pixels";
  }
  // Sky residuals add a few per cent to the χ² of a whole spectrum, not tens.
  EXPECT_GT(var_sky, 1.02);
  EXPECT_LT(var_sky, 1.2);
}

TEST(SimulatePhysics, MaskedPixelsAreFlaggedCorruptedAndZeroWeight) {
  const SurveySpec spec = test_spec();
  const Instrument inst = make_instrument(spec.exptime);
  const GroupData d = render_group(spec, inst, 0);  // file group 0: 64 spectra
  std::int64_t cosmic = 0, badcol = 0, corrupted = 0;
  for (int c = 0; c < kNumCameras; ++c)
    for (std::size_t k = 0; k < d.mask[c].size(); ++k) {
      const std::int32_t m = d.mask[c][k];
      if (m == 0) {
        EXPECT_GT(d.ivar[c][k], 0.0f);
        continue;
      }
      EXPECT_EQ(m & ~(kMaskCosmic | kMaskBadColumn), 0) << "unexpected mask bits " << m;
      EXPECT_EQ(d.ivar[c][k], 0.0f) << "masked pixel with weight";
      cosmic += (m & kMaskCosmic) ? 1 : 0;
      badcol += (m & kMaskBadColumn) ? 1 : 0;
      // Corrupted: far from the neighbouring pixels' level.
      const std::size_t nw = static_cast<std::size_t>(inst.cameras[c].nwave);
      const std::size_t row = k / nw, i = k % nw;
      const std::size_t j = i >= 8 ? k - 8 : k + 8;
      const float ref_iv = d.ivar[c][j];
      if (ref_iv > 0 && std::abs(d.flux[c][k] - d.flux[c][j]) * std::sqrt(ref_iv) > 3) ++corrupted;
      (void)row;
    }
  EXPECT_GT(cosmic, 64);  // ~1.5 hits x 2 px x 3 cameras per spectrum
  EXPECT_GT(corrupted, (cosmic + badcol) / 2);
  // Bad columns appear in some groups: check over a few.
  std::int64_t groups_with_badcol = 0;
  for (std::int64_t g = 0; g < 8; ++g) groups_with_badcol += draw_group_defects(spec, g, 64).columns.empty() ? 0 : 1;
  EXPECT_GE(groups_with_badcol, 3);
}

TEST(SimulatePhysics, NarrowLineProfileMatchesTheResolutionDiagonals) {
  const Instrument inst = make_instrument(180);
  Renderer r(inst);
  for (int c = 0; c < kNumCameras; ++c) {
    const Camera& cam = inst.cameras[c];
    const int j = cam.nwave / 2;
    ObjectParams p;  // a lone, intrinsically narrow emission line centred on pixel j at z = 0
    p.z = 0;
    p.add_line(static_cast<float>(cam.wave[j]), 10.0f, 1e-4f, true);
    const auto& m = r.model(p);
    // R applied to a delta of flux F at pixel j gives F/Δ * R(i, j) = F/Δ * data[5 - (j - i), j].
    double max_rel = 0;
    for (int d = 0; d < kResolutionDiagonals; ++d) {
      const int off = kResolutionDiagonals / 2 - d;
      const int i = j - off;
      const double expect = 10.0 / kPixelAngstrom * cam.resolution[static_cast<std::size_t>(d) * cam.nwave + j];
      if (expect > 0.05 * 10.0 / kPixelAngstrom) max_rel = std::max(max_rel, std::abs(m[c][i] - expect) / expect);
    }
    EXPECT_LT(max_rel, 0.05) << "camera " << cam.name;
    // Each row of R sums to one and the central value matches real DESI coadds (0.43-0.50).
    const float centre = cam.resolution[5 * static_cast<std::size_t>(cam.nwave) + j];
    EXPECT_GT(centre, 0.40f);
    EXPECT_LT(centre, 0.52f);
    const double power = resolution_power(c, cam.wave[j]);
    EXPECT_GT(power, 2000);
    EXPECT_LT(power, 6000);
  }
}

TEST(SimulatePhysics, LabelledAnomaliesPassTheDefaultSelection) {
  SurveySpec spec = test_spec(4000);
  for (int k = 1; k < kNumAnomalyKinds; ++k) spec.anomaly_fraction[k] = 0.1;
  spec.frac_qso = spec.frac_star = 0;
  const Instrument inst = make_instrument(spec.exptime);
  Renderer r(inst);
  std::array<int, kNumAnomalyKinds> seen{};
  std::array<std::vector<float>, kNumCameras> flux, ivar;
  std::array<std::vector<std::int32_t>, kNumCameras> mask;
  SpectrumView v;
  for (int c = 0; c < kNumCameras; ++c) {
    flux[c].resize(inst.cameras[c].nwave);
    ivar[c].resize(inst.cameras[c].nwave);
    mask[c].resize(inst.cameras[c].nwave);
    v.flux[c] = flux[c].data();
    v.ivar[c] = ivar[c].data();
    v.mask[c] = mask[c].data();
  }
  for (std::int64_t i = 0; i < 400; ++i) {
    const ObjectParams p = draw_object(spec, i);
    if (p.anomaly == AnomalyKind::kNone) continue;
    ++seen[static_cast<std::size_t>(p.anomaly)];
    const RenderResult res = r.render(p, spec.seed, {}, v);
    EXPECT_EQ(p.reported_class, ObjectClass::kGalaxy) << anomaly_name(p.anomaly);
    EXPECT_GE(res.z_reported, 0.02) << anomaly_name(p.anomaly);
    EXPECT_LE(res.z_reported, 0.28) << anomaly_name(p.anomaly);
    EXPECT_GT(res.snr, 5.0f) << anomaly_name(p.anomaly) << " object " << i;
    if (p.anomaly == AnomalyKind::kWrongZQso) {
      EXPECT_GT(p.z, 1.7);
      EXPECT_EQ(p.true_class, ObjectClass::kQso);
    }
    if (p.anomaly == AnomalyKind::kSkyDip) {  // over-subtracted sky lines dig negative holes
      int deep = 0;
      for (int c = 1; c < kNumCameras; ++c)
        for (int k = 0; k < inst.cameras[c].nwave; ++k)
          deep += (mask[c][k] == 0 && flux[c][k] * std::sqrt(ivar[c][k]) < -5) ? 1 : 0;
      EXPECT_GT(deep, 10) << "over-subtraction " << p.sky_dip;
    }
    if (p.anomaly == AnomalyKind::kCameraStep) {  // b and r disagree in their overlap
      double b = 0, rr = 0;
      int nb = 0, nr = 0;
      for (int k = 0; k < inst.cameras[0].nwave; ++k)
        if (inst.cameras[0].wave[k] >= 5760 && mask[0][k] == 0) b += flux[0][k], ++nb;
      for (int k = 0; k < inst.cameras[1].nwave; ++k)
        if (inst.cameras[1].wave[k] <= 5800 && mask[1][k] == 0) rr += flux[1][k], ++nr;
      b /= nb;
      rr /= nr;
      const double ratio = b / rr;  // unmasked pixels of 5760-5800 Å in both cameras
      EXPECT_TRUE(ratio < 0.85 || ratio > 1.25) << "b/r ratio " << ratio << " step " << p.camera_step;
    }
    if (p.anomaly == AnomalyKind::kBadPixelRun) {  // an unmasked flat run
      const auto c = static_cast<std::size_t>(p.bad_camera);
      EXPECT_EQ(flux[c][p.bad_start + 1], flux[c][p.bad_start + 2]);
      EXPECT_EQ(mask[c][p.bad_start + 1], 0);
      EXPECT_GT(ivar[c][p.bad_start + 1], 0.0f);
    }
  }
  for (int k = 1; k < kNumAnomalyKinds; ++k) EXPECT_GT(seen[k], 5) << anomaly_name(static_cast<AnomalyKind>(k));
}

}  // namespace
