// Spectrum rendering (see render.hpp). The costly parts are kept cheap: continua come from
// precomputed rest-frame templates by linear interpolation, smooth factors (dust, power
// laws, forest transmission) are evaluated every 16 pixels and interpolated, line profiles
// use a tabulated Gaussian over ±5σ windows, and normals come from a ziggurat.
#include "specvae/simulate/render.hpp"

#include <algorithm>
#include <cmath>

#include "specvae/simulate/sim_random.hpp"
#include "specvae/simulate/templates.hpp"

namespace specvae::sim {
namespace {

constexpr float kGaussStep = 1.0f / 64.0f;
constexpr int kGaussN = 6 * 64 + 2;
constexpr int kNodeStride = 32;  // smooth factors vary on ≥ 100 Å scales; 25.6 Å nodes suffice
constexpr double kLineWindowSigmas = 5.0;
// Medians (S/N, SCORES) over every 4th pixel: nth_element over all ~8000 pixels cost more
// than the rest of a spectrum, and a quarter of the pixels pins the median to <1%.
constexpr int kMedianStride = 4;

struct GaussTable {
  float v[kGaussN];
  GaussTable() {
    for (int i = 0; i < kGaussN; ++i) {
      const double x = i * static_cast<double>(kGaussStep);
      v[i] = static_cast<float>(std::exp(-0.5 * x * x));
    }
  }
};
const GaussTable& gauss_table() {
  static const GaussTable t;
  return t;
}

float median_of(std::vector<float>& v) {
  if (v.empty()) return 0.0f;
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  return v[mid];
}

// DESI's SCORES windows per camera (desispec.coaddition.compute_coadd_scores).
constexpr double kScoreLo[kNumCameras] = {4000.0, 5800.0, 7600.0};
constexpr double kScoreHi[kNumCameras] = {5800.0, 7600.0, 9800.0};

}  // namespace

float gauss_shape(float x) {
  const float ax = std::abs(x) * (1.0f / kGaussStep);
  if (ax >= kGaussN - 2) return 0.0f;
  const int i = static_cast<int>(ax);
  const float t = ax - static_cast<float>(i);
  const float* v = gauss_table().v;
  return v[i] + t * (v[i + 1] - v[i]);
}

Renderer::Renderer(const Instrument& instrument) : inst_(instrument) {
  const RestTemplates& tpl = rest_templates();
  for (int c = 0; c < kNumCameras; ++c) {
    const Camera& cam = inst_.cameras[static_cast<std::size_t>(c)];
    const std::size_t n = static_cast<std::size_t>(cam.nwave);
    grid_pos_[static_cast<std::size_t>(c)].resize(n);
    for (std::size_t i = 0; i < n; ++i) grid_pos_[static_cast<std::size_t>(c)][i] = tpl.position(cam.wave[i]);
    model_[static_cast<std::size_t>(c)].resize(n);
    absorb_[static_cast<std::size_t>(c)].resize(n);
    emit_[static_cast<std::size_t>(c)].resize(n);
    sigma_[static_cast<std::size_t>(c)].resize(n);
  }
  scratch_.reserve(8192);
  index_.resize(4096);
  frac_.resize(4096);
}

void Renderer::add_lines(const ObjectParams& p) {
  const float inv_sqrt_2pi = 0.3989422804f;
  const double opz = 1.0 + p.z;
  for (int l = 0; l < p.nlines; ++l) {
    const SpectralLine& line = p.lines[static_cast<std::size_t>(l)];
    const double centre = line.rest * opz;
    for (int c = 0; c < kNumCameras; ++c) {
      const Camera& cam = inst_.cameras[static_cast<std::size_t>(c)];
      const double sig_int = line.sigma_rest * opz;
      const double pc = std::clamp(cam.pixel_of(centre), 0.0, cam.nwave - 1.0);
      const double var = sig_int * sig_int + cam.lsf_var_pix[static_cast<std::size_t>(pc)];
      const float sigma = static_cast<float>(std::sqrt(var));
      const double half = kLineWindowSigmas * sigma;
      const int i0 = std::max(0, static_cast<int>(std::ceil(cam.pixel_of(centre - half))));
      const int i1 = std::min(cam.nwave - 1, static_cast<int>(std::floor(cam.pixel_of(centre + half))));
      if (i1 < i0) continue;
      const float inv_sigma = 1.0f / sigma;
      const float amp = (line.emission ? line.strength : static_cast<float>(line.strength * opz)) * inv_sqrt_2pi * inv_sigma;
      float* dst = line.emission ? emit_[static_cast<std::size_t>(c)].data() : absorb_[static_cast<std::size_t>(c)].data();
      const double* wave = cam.wave.data();
      for (int i = i0; i <= i1; ++i) dst[i] += amp * gauss_shape(static_cast<float>(wave[i] - centre) * inv_sigma);
    }
  }
}

const std::array<std::vector<float>, kNumCameras>& Renderer::model(const ObjectParams& p) {
  const RestTemplates& tpl = rest_templates();
  const double shift = std::log1p(p.z) / RestTemplates::kDln;
  const bool smooth = p.dust_ebv > 0 || p.tilt != 0 || p.powerlaw_amp != 0;
  for (int c = 0; c < kNumCameras; ++c) {
    const Camera& cam = inst_.cameras[static_cast<std::size_t>(c)];
    const int n = cam.nwave;
    float* m = model_[static_cast<std::size_t>(c)].data();
    const double* pos = grid_pos_[static_cast<std::size_t>(c)].data();
    const int nt = tpl.size();
    // Template continuum: grid index and weight once per pixel, then one pass per template.
    std::fill(m, m + n, 0.0f);
    if (p.ntemplates > 0) {
      int* idx = index_.data();
      float* frac = frac_.data();
      for (int i = 0; i < n; ++i) {
        const double q = std::clamp(pos[i] - shift, 0.0, nt - 1.000001);
        const int j = static_cast<int>(q);
        idx[i] = j;
        frac[i] = static_cast<float>(q - j);
      }
      for (int k = 0; k < p.ntemplates; ++k) {
        const float w = p.template_weight[static_cast<std::size_t>(k)];
        const float* t = tpl.data(p.template_id[static_cast<std::size_t>(k)]);
        for (int i = 0; i < n; ++i) {
          const int j = idx[i];
          m[i] += w * (t[j] + frac[i] * (t[j + 1] - t[j]));
        }
      }
    }
    // Smooth factors at nodes: dust on the templates, plus the power law (with forest).
    if (smooth) {
      const double opz = 1.0 + p.z;
      auto node = [&](int i, float& dust, float& pl) {
        const double lam = cam.wave[static_cast<std::size_t>(i)];
        const double rest = lam / opz;
        dust = p.dust_ebv > 0 ? static_cast<float>(std::pow(10.0, -0.4 * p.dust_ebv * calzetti_k(rest))) : 1.0f;
        if (p.tilt != 0) dust *= static_cast<float>(std::pow(rest / 5500.0, static_cast<double>(p.tilt)));
        pl = 0.0f;
        if (p.powerlaw_amp != 0) {  // the power-law part of continuum_at (same formula)
          double v = p.powerlaw_amp * std::pow(rest / 5000.0, static_cast<double>(p.powerlaw_slope));
          if (p.lya_forest && rest < 1215.67) {
            v *= std::exp(-0.0036 * std::pow(lam / 1215.67, 3.7));
            if (rest < 912.0) v *= 0.1;
          }
          pl = static_cast<float>(v);
        }
      };
      float d0, p0, d1, p1;
      node(0, d0, p0);
      for (int a = 0; a < n - 1; a += kNodeStride) {
        const int b = std::min(a + kNodeStride, n - 1);
        node(b, d1, p1);
        const float inv = 1.0f / static_cast<float>(b - a);
        for (int i = a; i < b; ++i) {
          const float t = static_cast<float>(i - a) * inv;
          m[i] = m[i] * (d0 + t * (d1 - d0)) + (p0 + t * (p1 - p0));
        }
        d0 = d1;
        p0 = p1;
      }
      m[n - 1] = m[n - 1] * d0 + p0;
    }
    std::fill(absorb_[static_cast<std::size_t>(c)].begin(), absorb_[static_cast<std::size_t>(c)].end(), 0.0f);
    std::fill(emit_[static_cast<std::size_t>(c)].begin(), emit_[static_cast<std::size_t>(c)].end(), 0.0f);
  }
  add_lines(p);
  for (int c = 0; c < kNumCameras; ++c) {
    float* m = model_[static_cast<std::size_t>(c)].data();
    const float* a = absorb_[static_cast<std::size_t>(c)].data();
    const float* e = emit_[static_cast<std::size_t>(c)].data();
    const int n = inst_.cameras[static_cast<std::size_t>(c)].nwave;
    for (int i = 0; i < n; ++i) m[i] = m[i] * std::max(1.0f - a[i], 0.02f) + e[i];
  }
  return model_;
}

RenderResult Renderer::render(const ObjectParams& p, std::uint64_t seed, std::span<const BadColumn> bad_columns,
                              const SpectrumView& out) {
  model(p);
  RenderResult r;
  SimStream noise(seed, StreamPurpose::kNoise, static_cast<std::uint64_t>(p.index));
  scratch_.clear();
  for (int c = 0; c < kNumCameras; ++c) {
    const Camera& cam = inst_.cameras[static_cast<std::size_t>(c)];
    const int n = cam.nwave;
    const float* m = model_[static_cast<std::size_t>(c)].data();
    float* sd = sigma_[static_cast<std::size_t>(c)].data();
    float* flux = out.flux[static_cast<std::size_t>(c)];
    float* ivar = out.ivar[static_cast<std::size_t>(c)];
    std::int32_t* mask = out.mask[static_cast<std::size_t>(c)];
    const float* base = cam.base_var.data();
    const float* invc = cam.inv_calib.data();
    for (int i = 0; i < n; ++i) {
      // Variance of the detected electrons (object + sky shot noise, read noise) in flux units.
      const float var = base[i] + std::max(m[i], 0.0f) * invc[i];
      sd[i] = std::sqrt(var);
      ivar[i] = 1.0f / var;
      mask[i] = 0;
    }
    float* nz = flux;  // the normals land in the flux row first
    noise.normals(nz, n);
    for (int i = 0; i < n; ++i) flux[i] = m[i] + sd[i] * nz[i];
    for (int i = 0; i < n; i += kMedianStride) scratch_.push_back(m[i] / sd[i]);
  }
  r.snr = median_of(scratch_);

  // Cosmic rays: ~1.5 per camera, 1-3 pixels, flagged COSMIC with ivar 0 (as the pipeline
  // does once it has found them), the pixels left corrupted.
  SimStream defects(seed, StreamPurpose::kDefects, static_cast<std::uint64_t>(p.index));
  for (int c = 0; c < kNumCameras; ++c) {
    const int n = inst_.cameras[static_cast<std::size_t>(c)].nwave;
    const int hits = defects.poisson(1.5);
    for (int h = 0; h < hits; ++h) {
      const int start = static_cast<int>(defects.below(static_cast<std::uint32_t>(n)));
      const int width = 1 + static_cast<int>(defects.below(3));
      const float amp = static_cast<float>(defects.uniform(20.0, 300.0));
      for (int i = start; i < std::min(n, start + width); ++i) {
        out.flux[static_cast<std::size_t>(c)][i] += amp * sigma_[static_cast<std::size_t>(c)][static_cast<std::size_t>(i)];
        out.ivar[static_cast<std::size_t>(c)][i] = 0.0f;
        out.mask[static_cast<std::size_t>(c)][i] |= kMaskCosmic;
      }
    }
  }
  for (const BadColumn& b : bad_columns) {
    const int n = inst_.cameras[static_cast<std::size_t>(b.camera)].nwave;
    for (int i = std::max(0, b.start); i < std::min(n, b.start + b.width); ++i) {
      const std::size_t c = static_cast<std::size_t>(b.camera);
      out.flux[c][i] += static_cast<float>(defects.uniform(-40.0, 40.0)) * sigma_[c][static_cast<std::size_t>(i)];
      out.ivar[c][i] = 0.0f;
      out.mask[c][i] |= kMaskBadColumn;
    }
  }

  // Instrumental anomalies.
  if (p.camera_step != 1.0f) {
    const float s = p.camera_step, iv = 1.0f / (s * s);
    for (int i = 0; i < inst_.cameras[0].nwave; ++i) {
      out.flux[0][i] *= s;
      out.ivar[0][i] *= iv;
    }
  }
  // Sky subtraction: the anomaly's over-subtraction plus every spectrum's ordinary error, a
  // fraction of the sky and a sub-pixel offset of the sky model (derivative-shaped residuals
  // at each sky line, as real pipelines leave them).
  const float sky_frac = p.sky_dip + p.sky_residual;
  if (sky_frac != 0 || p.sky_shift != 0) {
    for (int c = 0; c < kNumCameras; ++c) {
      const Camera& cam = inst_.cameras[static_cast<std::size_t>(c)];
      const float* sky = cam.sky.data();
      float* f = out.flux[static_cast<std::size_t>(c)];
      for (int i = 0; i < cam.nwave; ++i) {
        const float slope = 0.5f * (sky[std::min(i + 1, cam.nwave - 1)] - sky[std::max(i - 1, 0)]);
        f[i] -= sky_frac * sky[i] + p.sky_shift * slope;
      }
    }
  }
  if (p.bad_camera >= 0) {
    const std::size_t c = static_cast<std::size_t>(p.bad_camera);
    const int n = inst_.cameras[c].nwave;
    scratch_.assign(model_[c].begin(), model_[c].end());
    const float level = p.bad_level * std::max(std::abs(median_of(scratch_)), 0.05f);
    for (int i = std::max(0, p.bad_start); i < std::min(n, p.bad_start + p.bad_length); ++i) out.flux[c][i] = level;
  }

  // SCORES: median flux, median S/N per √Å and integrated flux in DESI's camera windows.
  for (int c = 0; c < kNumCameras; ++c) {
    const Camera& cam = inst_.cameras[static_cast<std::size_t>(c)];
    const int i0 = std::max(0, static_cast<int>(std::ceil(cam.pixel_of(kScoreLo[c]))));
    const int i1 = std::min(cam.nwave - 1, static_cast<int>(std::floor(cam.pixel_of(kScoreHi[c]))));
    const float* flux = out.flux[static_cast<std::size_t>(c)];
    const float* ivar = out.ivar[static_cast<std::size_t>(c)];
    double integ = 0;
    for (int i = i0; i <= i1; ++i) integ += flux[i] * kPixelAngstrom;
    scratch_.clear();
    for (int i = i0; i <= i1; i += kMedianStride) scratch_.push_back(flux[i]);
    r.integ_flux[static_cast<std::size_t>(c)] = static_cast<float>(integ);
    r.median_flux[static_cast<std::size_t>(c)] = median_of(scratch_);
    scratch_.clear();
    for (int i = i0; i <= i1; i += kMedianStride)
      scratch_.push_back(flux[i] * std::sqrt(ivar[i] * static_cast<float>(1.0 / kPixelAngstrom)));
    r.median_snr[static_cast<std::size_t>(c)] = median_of(scratch_);
    for (int i = 0; i < cam.nwave; ++i) r.npixels += ivar[i] > 0 ? 1 : 0;
  }

  // What a redshift fitter would report: errors shrinking with S/N, Δχ² growing with it
  // (ZWARN SMALL_DELTA_CHI2 below 9, as redrock), and the deliberate mislabels kept.
  const double snr = std::max(static_cast<double>(r.snr), 0.05);
  r.zerr = (1.0 + p.z_reported) * 2.5e-5 / snr;
  r.z_reported = p.z_reported + (p.z_reported_is_true ? r.zerr * noise.normal() : 0.0);
  r.deltachi2 = 40.0 * snr * snr * noise.uniform(0.5, 1.5);
  r.zwarn = r.deltachi2 < 9.0 ? 4 : 0;
  r.chi2 = static_cast<double>(r.npixels) * (1.0 + 0.03 * noise.normal());
  return r;
}

}  // namespace specvae::sim
