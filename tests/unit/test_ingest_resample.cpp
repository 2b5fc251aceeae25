// Flux-conserving resampling: constants stay constant, integrated flux is conserved over whole
// output bins, an emission line keeps its flux, errors follow SpectRes' formula (a direct port
// of spectres() below is the reference), and uncovered or mostly-bad bins are masked.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "specvae/ingest/resample.hpp"

using namespace specvae::ingest;

namespace {

// SpectRes v2.2.2 spectres(new_wavs, spec_wavs, spec_fluxes, spec_errs), line by line, taking
// centres (it builds edges with make_bins) and returning NaN for uncovered bins.
void spectres_reference(const std::vector<double>& new_wavs, const std::vector<double>& spec_wavs,
                        const std::vector<double>& fluxes, const std::vector<double>& errs,
                        std::vector<double>& new_f, std::vector<double>& new_e) {
  auto make_bins = [](const std::vector<double>& w, std::vector<double>& edges, std::vector<double>& widths) {
    const std::size_t n = w.size();
    edges.assign(n + 1, 0);
    widths.assign(n, 0);
    edges[0] = w[0] - (w[1] - w[0]) / 2;
    widths[n - 1] = w[n - 1] - w[n - 2];
    edges[n] = w[n - 1] + (w[n - 1] - w[n - 2]) / 2;
    for (std::size_t i = 1; i < n; ++i) edges[i] = (w[i] + w[i - 1]) / 2;
    for (std::size_t i = 0; i + 1 < n; ++i) widths[i] = edges[i + 1] - edges[i];
  };
  std::vector<double> old_edges, old_widths, new_edges, new_widths;
  make_bins(spec_wavs, old_edges, old_widths);
  make_bins(new_wavs, new_edges, new_widths);
  const std::size_t n = new_wavs.size();
  new_f.assign(n, NAN);
  new_e.assign(n, NAN);
  std::size_t start = 0, stop = 0;
  for (std::size_t j = 0; j < n; ++j) {
    if (new_edges[j] < old_edges[0] || new_edges[j + 1] > old_edges.back()) continue;
    while (old_edges[start + 1] <= new_edges[j]) ++start;
    while (old_edges[stop + 1] < new_edges[j + 1]) ++stop;
    if (stop == start) {
      new_f[j] = fluxes[start];
      new_e[j] = errs[start];
    } else {
      const double start_factor = (old_edges[start + 1] - new_edges[j]) / (old_edges[start + 1] - old_edges[start]);
      const double end_factor = (new_edges[j + 1] - old_edges[stop]) / (old_edges[stop + 1] - old_edges[stop]);
      std::vector<double> w(old_widths.begin() + start, old_widths.begin() + stop + 1);
      w.front() *= start_factor;
      w.back() *= end_factor;
      double sw = 0, swf = 0, se2 = 0;
      for (std::size_t k = 0; k < w.size(); ++k) {
        sw += w[k];
        swf += w[k] * fluxes[start + k];
        se2 += (w[k] * errs[start + k]) * (w[k] * errs[start + k]);
      }
      new_f[j] = swf / sw;
      new_e[j] = std::sqrt(se2) / sw;
    }
  }
}

std::vector<double> random_grid(std::mt19937_64& rng, double lo, double hi, std::size_t n) {
  std::uniform_real_distribution<double> u(0.5, 1.5);
  std::vector<double> steps(n - 1);
  double total = 0;
  for (auto& s : steps) total += (s = u(rng));
  std::vector<double> w(n);
  w[0] = lo;
  for (std::size_t i = 1; i < n; ++i) w[i] = w[i - 1] + steps[i - 1] * (hi - lo) / total;
  return w;
}

struct Out {
  std::vector<double> flux, sigma;
  std::vector<std::uint8_t> mask;
};

Out resample(const std::vector<double>& in_edges, const std::vector<double>& f, const std::vector<double>& s,
             const std::vector<std::uint8_t>& bad, const std::vector<double>& out_edges) {
  Out o;
  const std::size_t n = out_edges.size() - 1;
  o.flux.resize(n), o.sigma.resize(n), o.mask.resize(n);
  resample_flux_conserving(in_edges, f, s, bad, out_edges, o.flux, o.sigma, o.mask);
  return o;
}

}  // namespace

TEST(IngestResample, EdgesFollowSpectResMakeBins) {
  std::vector<double> c = {1.0, 2.0, 4.0, 5.0};
  auto e = edges_from_centres(c);
  EXPECT_EQ(e, (std::vector<double>{0.5, 1.5, 3.0, 4.5, 5.5}));
  RestGrid g;
  auto ge = g.edges();
  ASSERT_EQ(ge.size(), 1001u);
  EXPECT_DOUBLE_EQ(ge[0], 3600.0);
  EXPECT_DOUBLE_EQ(ge[1000], 7556.0);
  EXPECT_NEAR(ge[1] - ge[0], 3.956, 1e-12);
  EXPECT_NEAR(g.centres()[0], 3601.978, 1e-9);
}

TEST(IngestResample, ConstantStaysConstant) {
  std::mt19937_64 rng(1);
  auto in_c = random_grid(rng, 3000, 8000, 3000);
  auto in_e = edges_from_centres(in_c);
  std::vector<double> f(in_c.size(), 7.25), s(in_c.size(), 0.5);
  RestGrid g;
  auto o = resample(in_e, f, s, {}, g.edges());
  for (int j = 0; j < g.n_bins; ++j) {
    ASSERT_EQ(o.mask[j], 0) << j;
    EXPECT_NEAR(o.flux[j], 7.25, 1e-12) << j;
  }
}

TEST(IngestResample, IntegratedFluxConservedOverWholeOutputBins) {
  std::mt19937_64 rng(2);
  auto in_c = random_grid(rng, 3500, 7700, 5000);
  auto in_e = edges_from_centres(in_c);
  std::normal_distribution<double> nd(3.0, 2.0);
  std::vector<double> f(in_c.size()), s(in_c.size(), 1.0);
  for (auto& v : f) v = nd(rng);
  RestGrid g;
  auto E = g.edges();
  auto o = resample(in_e, f, s, {}, E);
  // Exact integral of the input step function over [a, b].
  auto integral = [&](double a, double b) {
    double t = 0;
    for (std::size_t i = 0; i < f.size(); ++i) t += f[i] * std::max(0.0, std::min(b, in_e[i + 1]) - std::max(a, in_e[i]));
    return t;
  };
  std::uniform_int_distribution<int> pick(0, g.n_bins);
  for (int trial = 0; trial < 50; ++trial) {
    int a = pick(rng), b = pick(rng);
    if (a > b) std::swap(a, b);
    if (a == b) continue;
    double out = 0;
    for (int j = a; j < b; ++j) out += o.flux[j] * (E[j + 1] - E[j]);
    const double ref = integral(E[a], E[b]);
    EXPECT_NEAR(out, ref, 1e-9 * (std::abs(ref) + (E[b] - E[a]))) << "bins " << a << ".." << b;
  }
}

TEST(IngestResample, EmissionLineFluxPreserved) {
  // Hα-like line (flux 250, σ 2 Å) on a 0.2 Å grid over a continuum of 3, resampled to ~4 Å bins.
  std::vector<double> in_c;
  for (double w = 6400; w <= 6700; w += 0.2) in_c.push_back(w);
  auto in_e = edges_from_centres(in_c);
  const double line_flux = 250, centre = 6563.3, width = 2.0;
  std::vector<double> f(in_c.size()), s(in_c.size(), 1.0);
  for (std::size_t i = 0; i < f.size(); ++i)
    f[i] = 3.0 + line_flux / (width * std::sqrt(2 * M_PI)) * std::exp(-0.5 * std::pow((in_c[i] - centre) / width, 2));
  RestGrid g{60, 6420, 6660};
  auto E = g.edges();
  auto o = resample(in_e, f, s, {}, E);
  double out_line = 0, in_line = 0;
  for (int j = 0; j < g.n_bins; ++j) out_line += (o.flux[j] - 3.0) * (E[j + 1] - E[j]);
  for (std::size_t i = 0; i < f.size(); ++i)
    if (in_e[i] >= E.front() && in_e[i + 1] <= E.back()) in_line += (f[i] - 3.0) * (in_e[i + 1] - in_e[i]);
  EXPECT_NEAR(out_line, in_line, 1e-9 * line_flux);
  EXPECT_NEAR(out_line, line_flux, 1e-3 * line_flux);  // the line lies well inside the window
  // And the peak bin is where the line is.
  int peak = 0;
  for (int j = 1; j < g.n_bins; ++j)
    if (o.flux[j] > o.flux[peak]) peak = j;
  EXPECT_LE(E[peak], centre);
  EXPECT_GE(E[peak + 1], centre);
}

TEST(IngestResample, MatchesSpectResOnRandomInputs) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    const std::size_t n_in = 200 + trial * 37, n_out = 30 + trial * 11;
    auto in_c = random_grid(rng, 1000, 2000, n_in);
    // Output grids both coarser and finer than the input, partly outside it.
    auto out_c = random_grid(rng, 980 + trial, 2010 - trial, n_out);
    std::uniform_real_distribution<double> u(-5, 20), us(0.1, 3);
    std::vector<double> f(n_in), s(n_in);
    for (std::size_t i = 0; i < n_in; ++i) f[i] = u(rng), s[i] = us(rng);
    std::vector<double> ref_f, ref_e;
    spectres_reference(out_c, in_c, f, s, ref_f, ref_e);
    auto o = resample(edges_from_centres(in_c), f, s, {}, edges_from_centres(out_c));
    int compared = 0;
    for (std::size_t j = 0; j < n_out; ++j) {
      if (std::isnan(ref_f[j])) {
        EXPECT_EQ(o.mask[j], 1) << "trial " << trial << " bin " << j;
        EXPECT_TRUE(std::isinf(o.sigma[j]));
        continue;
      }
      ASSERT_EQ(o.mask[j], 0) << "trial " << trial << " bin " << j;
      EXPECT_NEAR(o.flux[j], ref_f[j], 1e-10 * (1 + std::abs(ref_f[j])));
      EXPECT_NEAR(o.sigma[j], ref_e[j], 1e-10 * ref_e[j]);
      ++compared;
    }
    EXPECT_GT(compared, int(n_out) / 2);
  }
}

TEST(IngestResample, BinsOutsideTheObservedRangeAreMasked) {
  std::vector<double> in_c;
  for (double w = 4000; w <= 6000; w += 0.8) in_c.push_back(w);
  auto in_e = edges_from_centres(in_c);
  std::vector<double> f(in_c.size(), 2.0), s(in_c.size(), 1.0);
  RestGrid g;  // 3600–7556
  auto E = g.edges();
  auto o = resample(in_e, f, s, {}, E);
  for (int j = 0; j < g.n_bins; ++j) {
    const bool covered = E[j] >= in_e.front() && E[j + 1] <= in_e.back();
    EXPECT_EQ(o.mask[j], covered ? 0 : 1) << j;
    if (covered) EXPECT_NEAR(o.flux[j], 2.0, 1e-12);
    else EXPECT_EQ(o.flux[j], 0.0);
  }
}

TEST(IngestResample, MostlyBadBinsAreMaskedAndBadPixelsCarryNoInformation) {
  // Five input pixels of width 1 per output bin of width 5.
  std::vector<double> in_e, out_e;
  for (int i = 0; i <= 20; ++i) in_e.push_back(i);
  for (int j = 0; j <= 4; ++j) out_e.push_back(5.0 * j);
  std::vector<double> f(20, 1.0), s(20, 2.0);
  std::vector<std::uint8_t> bad(20, 0);
  bad[0] = bad[1] = 1;                    // bin 0: 2/5 bad -> kept
  bad[5] = bad[6] = bad[7] = 1;           // bin 1: 3/5 bad -> masked
  for (int i = 10; i < 15; ++i) bad[i] = 1;  // bin 2: all bad
  auto o = resample(in_e, f, s, bad, out_e);
  EXPECT_EQ(o.mask, (std::vector<std::uint8_t>{0, 1, 1, 0}));
  // Bin 0: σ from its 3 good pixels, sqrt(3·(1·2)²)/3; bin 3: SpectRes, sqrt(5·4)/5.
  EXPECT_NEAR(o.sigma[0], std::sqrt(12.0) / 3.0, 1e-14);
  EXPECT_NEAR(o.sigma[3], std::sqrt(20.0) / 5.0, 1e-14);
  EXPECT_TRUE(std::isinf(o.sigma[1]) && std::isinf(o.sigma[2]));
}
