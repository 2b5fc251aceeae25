// Per-spectrum preparation: camera combine as coadd_cameras (ivar-weighted overlaps, bad
// pixels without weight, misaligned grids refused), interpolation over bad pixels, the median
// S/N, the rest-frame convention, selection cuts, the TARGETID split and the row split.
#include <gtest/gtest.h>

#include <cmath>

#include "specvae/core/error.hpp"
#include "specvae/ingest/ingest.hpp"
#include "specvae/ingest/selection.hpp"
#include "specvae/ingest/spectrum_prep.hpp"

using namespace specvae;
using namespace specvae::ingest;

namespace {

CameraData camera(const std::string& name, double lo, double hi, float flux, float ivar) {
  CameraData c;
  c.name = name;
  for (int i = 0;; ++i) {
    const double w = lo + 0.8 * i;
    if (w > hi + 1e-6) break;
    c.wave.push_back(w);
  }
  c.flux.assign(c.wave.size(), flux);
  c.ivar.assign(c.wave.size(), ivar);
  c.mask.assign(c.wave.size(), 0);
  c.has_mask = true;
  return c;
}

}  // namespace

TEST(IngestPrep, CombinesCamerasLikeCoaddCameras) {
  std::vector<CameraData> cams = {camera("b", 3600, 5800, 2.0f, 1.0f), camera("r", 5760, 7620, 5.0f, 3.0f),
                                  camera("z", 7520, 9824, 1.0f, 1.0f)};
  // Bad pixels: a masked b pixel in the b/r overlap, a zero-ivar r pixel in the overlap.
  const std::size_t b_overlap = 2700;            // 3600 + 0.8·2700 = 5760 Å
  cams[0].mask[b_overlap + 5] = 1 << 2;           // 5764 Å: only r counts
  cams[1].ivar[10] = 0;                           // 5768 Å: only b counts
  cams[0].flux[100] = 0;                          // zero flux: unusable, not covered by another camera
  BrzGrid g = make_brz_grid(cams, "test.fits");
  ASSERT_EQ(g.wave.size(), 7781u);  // spender's brz grid size
  EXPECT_DOUBLE_EQ(g.wave.front(), 3600.0);
  EXPECT_NEAR(g.wave.back(), 9824.0, 1e-9);
  std::vector<double> f(g.wave.size()), iv(g.wave.size());
  std::vector<std::uint8_t> good(g.wave.size());
  combine_cameras(cams, g, 0, 0x7FFFFFFF, f, iv, good);
  EXPECT_DOUBLE_EQ(f[0], 2.0);
  EXPECT_DOUBLE_EQ(f[b_overlap], (1 * 2.0 + 3 * 5.0) / 4.0);  // ivar-weighted in the overlap
  EXPECT_DOUBLE_EQ(iv[b_overlap], 4.0);
  EXPECT_DOUBLE_EQ(f[b_overlap + 5], 5.0);
  EXPECT_DOUBLE_EQ(iv[b_overlap + 5], 3.0);
  EXPECT_DOUBLE_EQ(f[b_overlap + 10], 2.0);
  EXPECT_EQ(good[100], 0);
  EXPECT_EQ(good[101], 1);
  // With the cosmic-ray bit not counted as bad, the masked b pixel is used again.
  combine_cameras(cams, g, 0, ~(1u << 2) & 0x7FFFFFFF, f, iv, good);
  EXPECT_DOUBLE_EQ(iv[b_overlap + 5], 4.0);
  // Misaligned grids are an input error naming the file and camera.
  auto bad = cams;
  for (auto& w : bad[1].wave) w += 0.3;
  try {
    make_brz_grid(bad, "coadd-x.fits");
    ADD_FAILURE() << "misaligned grids accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("coadd-x.fits"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("r_WAVELENGTH"), std::string::npos) << e.what();
  }
}

TEST(IngestPrep, InterpolatesBadPixelsAndTakesTheMedianSnr) {
  std::vector<double> w = {1, 2, 3, 4, 5, 6}, f = {9, 1, 9, 9, 4, 9};
  std::vector<std::uint8_t> good = {0, 1, 0, 0, 1, 0};
  ASSERT_TRUE(interpolate_bad_pixels(w, f, good));
  EXPECT_EQ(f, (std::vector<double>{1, 1, 2, 3, 4, 4}));
  std::vector<std::uint8_t> none(6, 0);
  EXPECT_FALSE(interpolate_bad_pixels(w, f, none));

  std::vector<double> flux = {1, 2, 3, 4, 100}, ivar = {4, 4, 4, 4, 4}, wave = {10, 11, 12, 13, 14};
  std::vector<std::uint8_t> g5 = {1, 1, 1, 1, 1};
  std::vector<double> scratch;
  double snr = 0;
  // Window [10, 13] at z = 0: flux·2 = {2, 4, 6, 8} -> median 5 (mean of the two middle values).
  ASSERT_TRUE(median_snr(wave, flux, ivar, g5, 0.0, 10, 13, snr, scratch));
  EXPECT_DOUBLE_EQ(snr, 5.0);
  // At z = 0.1 the rest window [10, 13] is observed at [11, 14.3]: {4, 6, 8, 200} -> 7.
  ASSERT_TRUE(median_snr(wave, flux, ivar, g5, 0.1, 10, 13, snr, scratch));
  EXPECT_DOUBLE_EQ(snr, 7.0);
  g5[2] = 0;  // bad pixels do not count: {4, 8, 200} -> 8
  ASSERT_TRUE(median_snr(wave, flux, ivar, g5, 0.1, 10, 13, snr, scratch));
  EXPECT_DOUBLE_EQ(snr, 8.0);
  EXPECT_FALSE(median_snr(wave, flux, ivar, g5, 0.0, 20, 30, snr, scratch));
}

TEST(IngestPrep, RestFrameConventionAndCoverage) {
  std::vector<CameraData> cams = {camera("b", 3600, 5800, 3.0f, 4.0f), camera("r", 5760, 7620, 3.0f, 4.0f),
                                  camera("z", 7520, 9824, 3.0f, 4.0f)};
  BrzGrid g = make_brz_grid(cams, "t.fits");
  SpectrumPreparer prep{RestGrid{}};
  std::vector<double> f(g.wave.size()), iv(g.wave.size());
  std::vector<std::uint8_t> good(g.wave.size());
  std::vector<float> of(1000), oi(1000);
  std::vector<std::uint8_t> om(1000);
  const double z = 0.35;
  combine_cameras(cams, g, 0, 0x7FFFFFFF, f, iv, good);
  float snr = 0;
  ASSERT_TRUE(prep.prepare(g, f, iv, good, z, snr, of, oi, om));
  EXPECT_FLOAT_EQ(snr, 6.0f);  // 3·sqrt(4)
  const auto e = RestGrid{}.edges();
  const double end = (9824.0 + 0.4) / (1 + z);  // last observed edge in the rest frame
  for (int j = 0; j < 1000; ++j) {
    if (e[j + 1] > end) {
      EXPECT_EQ(om[j], 1) << j;
      EXPECT_EQ(oi[j], 0.0f);
    } else {
      ASSERT_EQ(om[j], 0) << j;
      EXPECT_NEAR(of[j], 3.0 * (1 + z), 1e-5);  // f_rest = (1+z)·f_obs
      // σ_rest = (1+z)/2 per 0.8/(1+z) Å pixel; ~6.7 pixels per 3.956 Å bin average down
      // (outside the camera overlaps, where ivar adds up).
      auto in_overlap = [&](double lo, double hi) {
        return (e[j + 1] * (1 + z) > lo - 0.4 && e[j] * (1 + z) < hi + 0.4);
      };
      if (in_overlap(5760, 5800) || in_overlap(7520, 7620)) {
        EXPECT_LT(1.0 / std::sqrt(oi[j]), (1 + z) / 2.0 * std::sqrt(0.8 / (1 + z) / 3.956));
        continue;
      }
      const double pix = 0.8 / (1 + z), bin = 3.956;
      EXPECT_NEAR(1.0 / std::sqrt(oi[j]), (1 + z) / 2.0 * std::sqrt(pix / bin), 0.05 * (1 + z) / 2.0 * std::sqrt(pix / bin));
    }
  }
}

// A file without its r camera: nothing was observed over 5800–7520 Å. The gap gets a pixel of
// its own that is never good, so the rest-frame bins there are masked (ivar 0) instead of
// being filled from the two pixels beside the gap stretched over ~860 Å each.
TEST(IngestPrep, AMissingCameraLeavesItsRangeMasked) {
  std::vector<CameraData> cams = {camera("b", 3600, 5800, 3.0f, 4.0f), camera("z", 7520, 9824, 3.0f, 4.0f)};
  BrzGrid g = make_brz_grid(cams, "t.fits");
  const std::size_t nb = cams[0].wave.size(), nz = cams[1].wave.size();
  ASSERT_EQ(g.wave.size(), nb + 1 + nz);  // one pixel for the gap
  ASSERT_EQ(g.edges.size(), g.wave.size() + 1);
  for (std::size_t i = 0; i + 1 < g.edges.size(); ++i) ASSERT_LT(g.edges[i], g.edges[i + 1]) << i;
  EXPECT_NEAR(g.edges[nb], 5800.4, 1e-9);      // the last b pixel keeps its 0.8 Å
  EXPECT_NEAR(g.edges[nb + 1], 7519.6, 1e-9);  // and so does the first z pixel
  EXPECT_EQ(g.map[1].front(), static_cast<std::int32_t>(nb + 1));
  std::vector<double> f(g.wave.size()), iv(g.wave.size());
  std::vector<std::uint8_t> good(g.wave.size());
  combine_cameras(cams, g, 0, 0x7FFFFFFF, f, iv, good);
  EXPECT_EQ(good[nb], 0);
  EXPECT_EQ(good[nb - 1], 1);
  EXPECT_EQ(good[nb + 1], 1);

  SpectrumPreparer prep{RestGrid{}};
  std::vector<float> of(1000), oi(1000);
  std::vector<std::uint8_t> om(1000);
  const double z = 0.1;
  float snr = 0;
  ASSERT_TRUE(prep.prepare(g, f, iv, good, z, snr, of, oi, om));
  const auto e = RestGrid{}.edges();
  int masked_in_gap = 0;
  for (int j = 0; j < 1000; ++j) {
    const double lo = e[j] * (1 + z), hi = e[j + 1] * (1 + z);  // the bin in the observed frame
    if (lo > 5800.4 && hi < 7519.6) {
      EXPECT_EQ(om[j], 1) << j;
      EXPECT_EQ(oi[j], 0.0f) << j;
      ++masked_in_gap;
    } else if (hi < 5800.4 - 1 || (lo > 7519.6 + 1 && hi < 9824.4)) {
      EXPECT_EQ(om[j], 0) << j;
      EXPECT_GT(oi[j], 0.0f) << j;
    }
  }
  EXPECT_GT(masked_in_gap, 380);  // (7519.6 − 5800.4) / 1.1 / 3.956 ≈ 395 bins
}

// Gaps at the ends of the grid: a pixel with no neighbour on either side but across a gap gets
// the grid's typical width, not half the gap.
TEST(IngestPrep, GapsBesideTheFirstAndLastPixel) {
  const auto grid_of = [](std::vector<double> wave) {
    CameraData c;
    c.name = "x";
    c.wave = std::move(wave);
    c.flux.assign(c.wave.size(), 1.0f);
    c.ivar.assign(c.wave.size(), 1.0f);
    c.mask.assign(c.wave.size(), 0);
    return make_brz_grid({c}, "t.fits");
  };
  BrzGrid g = grid_of({1, 20, 21, 22});
  ASSERT_EQ(g.wave.size(), 5u);
  ASSERT_EQ(g.edges.size(), 6u);
  for (std::size_t i = 0; i + 1 < g.edges.size(); ++i) ASSERT_LT(g.edges[i], g.edges[i + 1]) << i;
  EXPECT_DOUBLE_EQ(g.edges[0], 0.5);
  EXPECT_DOUBLE_EQ(g.edges[1], 1.5);
  EXPECT_DOUBLE_EQ(g.edges[2], 19.5);
  EXPECT_EQ(g.map[0], (std::vector<std::int32_t>{0, 2, 3, 4}));
  g = grid_of({1, 2, 3, 20});
  ASSERT_EQ(g.wave.size(), 5u);
  EXPECT_DOUBLE_EQ(g.edges[3], 3.5);
  EXPECT_DOUBLE_EQ(g.edges[4], 19.5);
  EXPECT_DOUBLE_EQ(g.edges[5], 20.5);
}

TEST(IngestPrep, SelectionCutsInOrder) {
  Config cfg = Config::defaults();
  SelectionRules s = SelectionRules::from_config(cfg);
  FiberInfo fib;
  fib.objtype = "TGT";
  Redshift z;
  z.z = 0.1;
  z.spectype = "GALAXY";
  EXPECT_EQ(s.select_catalogue(&fib, z), Reject::none);
  z.z = 0.31;
  EXPECT_EQ(s.select_catalogue(&fib, z), Reject::z_range);
  z.z = -0.001;
  EXPECT_EQ(s.select_catalogue(&fib, z), Reject::z_range);
  z.z = NAN;
  EXPECT_EQ(s.select_catalogue(&fib, z), Reject::z_range);
  z.z = 0.1;
  z.zwarn = 4;
  EXPECT_EQ(s.select_catalogue(&fib, z), Reject::none);  // ZWARN filter off by default
  cfg.set("ingest.require_zwarn_zero=true");
  cfg.set("ingest.fiberstatus_mask=8");
  cfg.set("ingest.objtypes=[\"TGT\"]");
  cfg.set("ingest.spectypes=[\"GALAXY\"]");
  cfg.set("ingest.target_column=SV3_BGS_TARGET");
  cfg.set("ingest.target_mask=3");
  s = SelectionRules::from_config(cfg);
  fib.sv_bgs_target = 2;
  EXPECT_EQ(s.select_catalogue(&fib, z), Reject::zwarn);
  z.zwarn = 0;
  EXPECT_EQ(s.select_catalogue(&fib, z), Reject::none);
  fib.coadd_fiberstatus = 8;
  EXPECT_EQ(s.select_catalogue(&fib, z), Reject::fiberstatus);
  fib.objtype = "SKY";
  EXPECT_EQ(s.select_catalogue(&fib, z), Reject::objtype);
  fib = FiberInfo{};
  fib.objtype = "TGT";
  EXPECT_EQ(s.select_catalogue(&fib, z), Reject::target);
  fib.sv_bgs_target = 1;
  z.spectype = "STAR";
  EXPECT_EQ(s.select_catalogue(&fib, z), Reject::spectype);
  cfg.set("ingest.target_column=FOO_TARGET");
  EXPECT_THROW(SelectionRules::from_config(cfg), ConfigError);
  EXPECT_NE(s.describe().find("SV3_BGS_TARGET"), std::string::npos);
}

TEST(IngestPrep, SplitByTargetIdAndRowsByRank) {
  int val = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) val += split_of(39633345008634465LL + i * 7919LL, 0.25);
  // Binomial(1e5, 0.25): sd ≈ 137; 5 sd.
  EXPECT_NEAR(val, 0.25 * n, 700);
  EXPECT_EQ(split_of(42, 0.25), split_of(42, 0.25));
  EXPECT_EQ(split_of(42, 0.0), 0);
  EXPECT_EQ(split_of(42, 1.0), 1);

  const std::vector<std::int64_t> counts = {5, -1, 0, 7, 3};  // -1: an unreadable file
  std::int64_t covered = 0, next_file = 0, next_row = 0;
  for (int r = 0; r < 4; ++r)
    for (const auto& s : rank_slices(counts, r, 4)) {
      EXPECT_NE(s.file, 1);
      EXPECT_GT(s.count, 0);
      if (s.file != next_file) next_file = s.file, next_row = 0;
      EXPECT_EQ(s.first, next_row) << "contiguous, in file order";
      next_row += s.count;
      covered += s.count;
    }
  EXPECT_EQ(covered, 15);
  EXPECT_TRUE(rank_slices({1}, 1, 2).empty());
}
