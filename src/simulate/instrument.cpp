// The simulated spectrograph: grids, LSF, throughput, sky and noise (see instrument.hpp).
// Numbers are chosen to look like DESI's bright-time data: the RESOLUTION rows of the real
// files in shared/data/desi have a central value of ~0.44 (b, z) and ~0.48 (r), i.e. an LSF
// sigma of ~0.85 / 0.78 / 0.88 pixels, which the resolution laws below reproduce.
#include "specvae/simulate/instrument.hpp"

#include <cmath>

#include "specvae/core/error.hpp"
#include "specvae/simulate/sim_random.hpp"

namespace specvae::sim {
namespace {

constexpr double kHc = 1.98644586e-8;          // h*c in erg*Å
constexpr double kTelescopeArea = 86500.0;     // cm², Mayall 4 m primary minus obstruction
constexpr double kFiberArea = 1.81;            // arcsec², a 1.52" diameter DESI fibre
constexpr double kReadNoiseVar = 36.0;         // e²/pixel: 3 e- rms over ~4 CCD rows of a trace

struct Knot {
  double lambda, value;
};

// Piecewise-linear interpolation through knots (clamped at the ends).
double piecewise(const std::vector<Knot>& k, double x) {
  if (x <= k.front().lambda) return k.front().value;
  for (std::size_t i = 1; i < k.size(); ++i)
    if (x <= k[i].lambda) {
      const double t = (x - k[i - 1].lambda) / (k[i].lambda - k[i - 1].lambda);
      return k[i - 1].value + t * (k[i].value - k[i - 1].value);
    }
  return k.back().value;
}

// Total throughput (atmosphere, telescope, fibre, spectrograph, CCD QE) per camera, shaped
// like DESI's: blue QE rise, dichroic edges, and the red QE fall of the z CCDs.
double throughput(int camera, double lambda) {
  static const std::vector<Knot> b{{3600, 0.10}, {4000, 0.26}, {4500, 0.34}, {5400, 0.36}, {5700, 0.30}, {5800, 0.20}};
  static const std::vector<Knot> r{{5760, 0.22}, {5900, 0.36}, {6500, 0.42}, {7400, 0.40}, {7620, 0.26}};
  static const std::vector<Knot> z{{7520, 0.24}, {7700, 0.38}, {8500, 0.36}, {9300, 0.24}, {9824, 0.08}};
  return piecewise(camera == 0 ? b : camera == 1 ? r : z, lambda);
}

// Sky continuum surface brightness in 1e-17 erg/s/cm²/Å/arcsec²: DESI's nominal dark sky
// (~21.5 mag/arcsec² in r). simulate.exptime is read as an effective time (EFFTIME: the
// time that gives the same S/N under nominal dark conditions), so the brightness of the
// actual bright-time sky is folded into it, as DESI does.
double sky_continuum(double lambda) {
  static const std::vector<Knot> k{{3600, 0.55}, {4200, 0.6}, {5000, 0.55}, {6000, 0.5}, {7000, 0.5}, {8000, 0.5}, {9824, 0.55}};
  return piecewise(k, lambda);
}

struct SkyLine {
  double lambda, flux;  // Å, 1e-17 erg/s/cm²/arcsec²
};

// Atomic sky lines plus an OH Meinel forest. The OH lines are drawn once from a fixed seed
// (not the survey seed: every survey sees the same sky), with band centres and strengths
// rising to the red as in the real night sky.
std::vector<SkyLine> sky_lines() {
  std::vector<SkyLine> lines{{4046.6, 3}, {4358.3, 8}, {5460.7, 8}, {5577.3, 120}, {5889.95, 15}, {5895.9, 12},
                             {6300.3, 40}, {6363.8, 12}, {8344.6, 60}, {8399.2, 60}};
  struct Band {
    double lo, hi, strength;
    int n;
  };
  // OH line peaks reach ~50-100x the sky continuum in the z camera, as in DESI sky spectra.
  const Band bands[] = {{6830, 6980, 25, 14}, {7240, 7420, 40, 18}, {7570, 7720, 30, 14}, {7750, 8010, 55, 20},
                        {8280, 8510, 80, 18}, {8760, 9060, 110, 22}, {9300, 9800, 120, 30}};
  SimStream s(0x5EEDull, StreamPurpose::kSkyLines, 0);
  for (const Band& b : bands)
    for (int i = 0; i < b.n; ++i) lines.push_back({s.uniform(b.lo, b.hi), b.strength * (0.2 + 1.6 * s.uniform())});
  return lines;
}

double gaussian_pdf(double x, double var) { return std::exp(-0.5 * x * x / var) / std::sqrt(2 * M_PI * var); }

// The resolution diagonals of DESI's layout: data[d, j] holds R(j - off_d, j) with
// off_d = 5 - d, i.e. how much of input pixel j lands in output pixel i = j - off_d. Each
// element is the LSF Gaussian of output pixel i integrated over input pixel j; rows of R
// are normalised to 1 (flux conservation, as desispec's resolution matrices are).
std::vector<float> resolution_data(const Camera& cam) {
  const int n = cam.nwave, nd = kResolutionDiagonals, half = nd / 2;
  std::vector<double> rows(static_cast<std::size_t>(n) * nd);  // rows[i*nd + k]: R(i, i + k - half)
  for (int i = 0; i < n; ++i) {
    const double s = cam.sigma_lsf[i] / kPixelAngstrom;  // pixels
    double sum = 0;
    for (int k = 0; k < nd; ++k) {
      const double dj = k - half;
      const double v = 0.5 * (std::erf((dj + 0.5) / (s * M_SQRT2)) - std::erf((dj - 0.5) / (s * M_SQRT2)));
      rows[static_cast<std::size_t>(i) * nd + k] = v;
      sum += v;
    }
    for (int k = 0; k < nd; ++k) rows[static_cast<std::size_t>(i) * nd + k] /= sum;
  }
  std::vector<float> data(static_cast<std::size_t>(nd) * n, 0.0f);
  for (int d = 0; d < nd; ++d) {
    const int off = half - d;
    for (int j = 0; j < n; ++j) {
      const int i = j - off;
      if (i < 0 || i >= n) continue;
      const int k = j - i + half;
      data[static_cast<std::size_t>(d) * n + j] = static_cast<float>(rows[static_cast<std::size_t>(i) * nd + k]);
    }
  }
  return data;
}

}  // namespace

double resolution_power(int camera, double lambda) {
  // Linear in wavelength across each camera, matching the LSF widths of real DESI coadds.
  struct Law {
    double l0, l1, r0, r1;
  };
  static const Law laws[kNumCameras] = {{3600, 5800, 2250, 3600}, {5760, 7620, 3900, 5000}, {7520, 9824, 4500, 5800}};
  const Law& l = laws[camera];
  return l.r0 + (l.r1 - l.r0) * (lambda - l.l0) / (l.l1 - l.l0);
}

Instrument make_instrument(double exptime) {
  SPECVAE_CHECK(exptime > 0, "exposure time must be positive, got {}", exptime);
  Instrument inst;
  inst.exptime = exptime;
  const char* names[kNumCameras] = {"b", "r", "z"};
  const double wmin[kNumCameras] = {3600.0, 5760.0, 7520.0};
  const int nwave[kNumCameras] = {2751, 2326, 2881};
  const std::vector<SkyLine> lines = sky_lines();
  for (int c = 0; c < kNumCameras; ++c) {
    Camera& cam = inst.cameras[c];
    cam.name = names[c];
    cam.wave_min = wmin[c];
    cam.nwave = nwave[c];
    const std::size_t n = static_cast<std::size_t>(cam.nwave);
    cam.wave.resize(n);
    cam.sigma_lsf.resize(n);
    cam.lsf_var_pix.resize(n);
    cam.inv_calib.resize(n);
    cam.sky.resize(n);
    cam.base_var.resize(n);
    // Exactly np.arange(wmin, wmax + dw/2, dw) as desispec builds the grid: numpy fills
    // start + i * (the first step as rounded in double), not start + i * 0.8.
    const double step = (wmin[c] + kPixelAngstrom) - wmin[c];
    for (std::size_t i = 0; i < n; ++i) {
      const double lam = wmin[c] + static_cast<double>(i) * step;
      cam.wave[i] = lam;
      const double sigma = lam / (2.3548200450309493 * resolution_power(c, lam));
      cam.sigma_lsf[i] = static_cast<float>(sigma);
      // The pixel boxcar adds Δ²/12 to the variance of anything sampled on the grid.
      cam.lsf_var_pix[i] = static_cast<float>(sigma * sigma + kPixelAngstrom * kPixelAngstrom / 12.0);
      // electrons per (1e-17 erg/s/cm²/Å) in one pixel: t * A * T * Δλ / (hc/λ)
      const double calib = exptime * kTelescopeArea * throughput(c, lam) * kPixelAngstrom * 1e-17 * lam / kHc;
      cam.inv_calib[i] = static_cast<float>(1.0 / calib);
    }
    for (std::size_t i = 0; i < n; ++i) {
      const double lam = cam.wave[i];
      double sky = sky_continuum(lam);
      for (const SkyLine& l : lines) {
        const double dx = lam - l.lambda;
        if (std::abs(dx) < 8 * cam.sigma_lsf[i]) sky += l.flux * gaussian_pdf(dx, cam.lsf_var_pix[i]);
      }
      sky *= kFiberArea;
      cam.sky[i] = static_cast<float>(sky);
      const double inv_c = cam.inv_calib[i];
      cam.base_var[i] = static_cast<float>(sky * inv_c + kReadNoiseVar * inv_c * inv_c);
    }
    cam.resolution = resolution_data(cam);
  }
  return inst;
}

}  // namespace specvae::sim
