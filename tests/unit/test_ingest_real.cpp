// The two real DESI galaxies in ../shared/data/desi go through ingest: coadd-4-80613
// (z = 0.369) is rejected by the paper's z range and accepted with ingest.z_max = 0.4, its
// bins beyond the observed range masked; coadd-special-dark-27247 (z = 0.00727) has a median
// pixel S/N of only 0.64, so it is rejected by the paper's S/N > 5 and accepted with
// ingest.snr_min = 0.5 (lowered for this file only). Expected S/N values were computed
// independently with astropy/numpy (ivar-weighted camera combine of pixels with MASK == 0,
// ivar > 0, flux != 0; median of flux·sqrt(ivar) over λ/(1+z) in [3600, 7556] Å).
// Skips visibly where the data folder is absent.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "specvae/ingest/ingest.hpp"
#include "specvae/ingest/resample.hpp"

namespace fs = std::filesystem;
using namespace specvae;
using namespace specvae::ingest;

namespace {

fs::path desi_dir() { return fs::path(SPECVAE_TEST_DATA_DIR) / "desi"; }

IngestOutput run_one(const Config& cfg, const std::string& coadd) {
  const auto pairs = find_input_pairs({desi_dir() / coadd});
  IngestOutput out;
  run_in_process(1, [&](Communicator& comm) { out = preprocess_survey(comm, cfg, pairs); });
  return out;
}

Config quiet_defaults() { return Config::defaults(); }

#define REQUIRE_DESI_DATA()                                                                      \
  if (!fs::exists(desi_dir() / "coadd-4-80613-thru20210324.fits"))                              \
  GTEST_SKIP() << "real DESI test files not found in " << desi_dir()

}  // namespace

TEST(IngestRealDesi, Bgs80613RejectedByDefaultZRangeAcceptedWithZmax04) {
  REQUIRE_DESI_DATA();
  const std::string coadd = "coadd-4-80613-thru20210324.fits";
  IngestOutput def = run_one(quiet_defaults(), coadd);
  EXPECT_EQ(def.total_rows, 0);
  EXPECT_EQ(def.provenance.rejected.at("z_range"), 1);

  Config wide = quiet_defaults();
  wide.set("ingest.z_max=0.4");
  IngestOutput out = run_one(wide, coadd);
  ASSERT_EQ(out.total_rows, 1) << "rejected by S/N? snr rejections: " << out.provenance.rejected.at("snr");
  const auto& r = out.rows;
  EXPECT_EQ(r.targetid[0], 39633345008634465);
  EXPECT_NEAR(r.z[0], 0.36874, 1e-4);
  EXPECT_EQ(r.spectype[0], "GALAXY");
  EXPECT_NEAR(r.snr[0], 5.8688, 1e-3);
  // Rest-frame coverage ends at 9824.4/(1+z) ≈ 7177 Å: every bin above is masked, with ivar 0.
  const RestGrid g;
  const auto e = g.edges();
  const double rest_end = (9824.0 + 0.4) / (1 + r.z[0]);
  int masked_above = 0, unmasked_below = 0;
  double ss = 0;
  for (int b = 0; b < g.n_bins; ++b) {
    ss += double(r.flux[b]) * r.flux[b];
    if (e[b + 1] > rest_end) {
      EXPECT_EQ(r.mask[b], 1) << b;
      EXPECT_EQ(r.ivar[b], 0.0f);
      ++masked_above;
    } else if (!r.mask[b]) {
      EXPECT_GT(r.ivar[b], 0.0f);
      ++unmasked_below;
    }
  }
  EXPECT_GT(masked_above, 90);
  EXPECT_GT(unmasked_below, 850);
  EXPECT_NEAR(std::sqrt(ss), 1.0, 1e-5);
}

TEST(IngestRealDesi, SpecialDark27247FaintButAcceptedWithALowerSnrCut) {
  REQUIRE_DESI_DATA();
  IngestOutput def = run_one(quiet_defaults(), "coadd-special-dark-27247.fits");
  EXPECT_EQ(def.total_rows, 0);
  EXPECT_EQ(def.provenance.rejected.at("snr"), 1);
  Config low = quiet_defaults();
  low.set("ingest.snr_min=0.5");
  IngestOutput out = run_one(low, "coadd-special-dark-27247.fits");
  ASSERT_EQ(out.total_rows, 1) << "snr rejections: " << out.provenance.rejected.at("snr");
  const auto& r = out.rows;
  EXPECT_EQ(r.targetid[0], 39089837499744649);
  EXPECT_NEAR(r.z[0], 0.00727, 1e-4);
  EXPECT_NEAR(r.snr[0], 0.6351, 1e-3);
  // z ≈ 0 covers the whole rest-frame grid: only bad-pixel bins can be masked.
  int masked = 0;
  for (int b = 0; b < r.n_bins; ++b) masked += r.mask[b];
  EXPECT_LT(masked, 50);
}
