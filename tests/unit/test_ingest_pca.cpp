// PCA infill: masked segments of spectra drawn from a known low-rank model are recovered to
// within the noise; unmasked bins are never changed; the fit is deterministic; bins nobody
// observed stay out of the model.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "specvae/ingest/pca_infill.hpp"

using namespace specvae::ingest;

namespace {

constexpr int kBins = 300;

// Spectra x = scale·(m + Σ c_k e_k) + noise, with 3 smooth components, and a masked run of
// 20–60 bins in 40% of them (also at the ends, where extrapolation is hardest).
struct LowRankSurvey {
  int rows;
  double noise;
  std::vector<float> flux, truth;
  std::vector<std::uint8_t> mask;
  LowRankSurvey(int rows_, double noise_, std::uint64_t seed) : rows(rows_), noise(noise_) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> nd(0, 1);
    std::uniform_real_distribution<double> scale(0.5, 5.0), u(0, 1);
    flux.resize(std::size_t(rows) * kBins), truth.resize(flux.size()), mask.assign(flux.size(), 0);
    for (int r = 0; r < rows; ++r) {
      const double s = scale(rng), c1 = 0.3 * nd(rng), c2 = 0.2 * nd(rng), c3 = 0.1 * nd(rng);
      for (int b = 0; b < kBins; ++b) {
        const double t = double(b) / kBins;
        const double m = 1.0 + 0.5 * t + 0.8 * std::exp(-0.5 * std::pow((t - 0.6) / 0.01, 2));
        const double v = m + c1 * std::sin(2 * M_PI * t) + c2 * std::cos(3 * M_PI * t) + c3 * (t * t - 0.3);
        truth[std::size_t(r) * kBins + b] = float(s * v);
        flux[std::size_t(r) * kBins + b] = float(s * v + noise * nd(rng));
      }
      if (u(rng) < 0.4) {
        const int len = 20 + int(u(rng) * 40), start = int(u(rng) * (kBins - len + 1));
        for (int b = start; b < start + len; ++b) mask[std::size_t(r) * kBins + b] = 1;
      }
    }
  }
};

}  // namespace

TEST(IngestPca, RecoversMaskedSegmentsOfALowRankModelWithinTheNoise) {
  const double noise = 0.01;
  LowRankSurvey sv(400, noise, 7);
  PcaModel model = fit_iterative_pca(sv.flux, sv.mask, sv.rows, kBins, 5, 20);
  ASSERT_EQ(model.n_ev, 5);
  EXPECT_GE(model.eigenvalues[0], model.eigenvalues[1]);
  // Unit-norm versions of m + Σ c_k e_k span {m, e_1, e_2, e_3}: four real directions after
  // centring, the fifth is noise.
  EXPECT_GT(model.eigenvalues[3], 20 * model.eigenvalues[4]);

  PcaInfiller infiller(model, 20);
  double se = 0, se_unfilled = 0;
  std::size_t n = 0;
  for (int r = 0; r < sv.rows; ++r) {
    std::span<float> f(sv.flux.data() + std::size_t(r) * kBins, kBins);
    std::span<const std::uint8_t> m(sv.mask.data() + std::size_t(r) * kBins, kBins);
    std::vector<float> before(f.begin(), f.end());
    ASSERT_TRUE(infiller.infill(f, m));
    for (int b = 0; b < kBins; ++b) {
      const double t = sv.truth[std::size_t(r) * kBins + b];
      if (!m[b]) {
        ASSERT_EQ(f[b], before[b]) << "unmasked bin changed, row " << r << " bin " << b;
        continue;
      }
      se += (f[b] - t) * (f[b] - t);
      se_unfilled += (before[b] - t) * (before[b] - t);  // the masked values still hold data here
      ++n;
    }
  }
  ASSERT_GT(n, 1000u);
  const double rms = std::sqrt(se / double(n));
  // The fill is a projection on 5 components fitted to ~250 unmasked noisy bins: its error
  // must be at the level of the pixel noise, not of the spectrum (~1–5).
  EXPECT_LT(rms, 2 * noise) << "rms error of the infilled bins";
  EXPECT_GT(std::sqrt(se_unfilled / double(n)), 0.5 * noise);  // sanity: the noise is really there
}

TEST(IngestPca, ExactForNoiselessLowRankSpectra) {
  LowRankSurvey sv(100, 0.0, 11);
  PcaModel model = fit_iterative_pca(sv.flux, sv.mask, sv.rows, kBins, 4, 30);
  PcaInfiller infiller(model, 30);
  double max_err = 0, max_val = 0;
  for (int r = 0; r < sv.rows; ++r) {
    std::span<float> f(sv.flux.data() + std::size_t(r) * kBins, kBins);
    std::span<const std::uint8_t> m(sv.mask.data() + std::size_t(r) * kBins, kBins);
    infiller.infill(f, m);
    for (int b = 0; b < kBins; ++b) {
      max_err = std::max(max_err, std::abs(double(f[b]) - sv.truth[std::size_t(r) * kBins + b]));
      max_val = std::max(max_val, std::abs(double(sv.truth[std::size_t(r) * kBins + b])));
    }
  }
  // Unit-norm spectra of the family lie in span{m, e_1, e_2, e_3}, which 4 eigenspectra
  // capture exactly; float32 storage bounds the error.
  EXPECT_LT(max_err, 1e-4 * max_val);
}

TEST(IngestPca, FitIsDeterministicAndNeverObservedBinsStayOut) {
  LowRankSurvey sv(80, 0.01, 5);
  for (int r = 0; r < sv.rows; ++r)
    for (int b = kBins - 10; b < kBins; ++b) sv.mask[std::size_t(r) * kBins + b] = 1;  // nobody has these
  PcaModel a = fit_iterative_pca(sv.flux, sv.mask, sv.rows, kBins, 4, 10);
  PcaModel b = fit_iterative_pca(sv.flux, sv.mask, sv.rows, kBins, 4, 10);
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.evecs, b.evecs);
  for (int k = kBins - 10; k < kBins; ++k) {
    EXPECT_EQ(a.never_observed[k], 1);
    EXPECT_EQ(a.mean[k], 0.0);
    for (int e = 0; e < a.n_ev; ++e) EXPECT_NEAR(a.evecs[std::size_t(e) * kBins + k], 0.0, 1e-12);
  }
  EXPECT_EQ(a.never_observed[0], 0);
  // Eigenspectra are orthonormal.
  for (int i = 0; i < a.n_ev; ++i)
    for (int j = 0; j <= i; ++j) {
      double d = 0;
      for (int k = 0; k < kBins; ++k) d += a.evecs[std::size_t(i) * kBins + k] * a.evecs[std::size_t(j) * kBins + k];
      EXPECT_NEAR(d, i == j ? 1.0 : 0.0, 1e-10);
    }
}

TEST(IngestPca, SmallSamplesUseFewerEigenspectra) {
  LowRankSurvey sv(3, 0.01, 9);
  PcaModel m = fit_iterative_pca(sv.flux, sv.mask, sv.rows, kBins, 10, 5);
  EXPECT_EQ(m.n_ev, 2);  // at most rows − 1 directions
  LowRankSurvey one(1, 0.01, 9);
  PcaModel m1 = fit_iterative_pca(one.flux, one.mask, 1, kBins, 10, 5);
  EXPECT_EQ(m1.n_ev, 0);
  std::vector<float> f(one.flux.begin(), one.flux.end());
  std::vector<std::uint8_t> mask(kBins, 0);
  for (int b = 100; b < 120; ++b) mask[b] = 1;
  PcaInfiller fill(m1, 5);
  EXPECT_TRUE(fill.infill(f, mask));  // the mean spectrum, scaled
  for (int b = 100; b < 120; ++b) EXPECT_TRUE(std::isfinite(f[b]));
  std::vector<std::uint8_t> all(kBins, 1);
  EXPECT_FALSE(fill.infill(f, all));
}
