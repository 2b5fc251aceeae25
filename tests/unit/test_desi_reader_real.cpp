// The DESI reader on the real public DESI files in shared/data/desi: known TARGETIDs and
// redshifts (values from shared/data/README.md), grids, files without FIBERMAP/MASK, tile-
// compressed masks, row ranges, and a cross-check of every file against astropy.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "specvae/io/desi.hpp"
#include "test_desi_reader_util.hpp"

namespace specvae {
namespace {

using testing::desi_data_dir;

std::filesystem::path desi(const char* name) { return desi_data_dir() / name; }

void expect_desi_grids(const DesiSpectra& s) {
  ASSERT_EQ(s.cameras.size(), 3u);
  const char* names[] = {"b", "r", "z"};
  const std::size_t nwave[] = {2751, 2326, 2881};
  const double first[] = {3600.0, 5760.0, 7520.0}, last[] = {5800.0, 7620.0, 9824.0};
  for (int c = 0; c < 3; ++c) {
    const CameraData& cam = s.cameras[std::size_t(c)];
    EXPECT_EQ(cam.name, names[c]);
    ASSERT_EQ(cam.nwave(), nwave[c]);
    EXPECT_NEAR(cam.wave.front(), first[c], 1e-6);
    EXPECT_NEAR(cam.wave.back(), last[c], 1e-6);
    EXPECT_EQ(cam.flux.size(), std::size_t(s.nspec) * nwave[c]);
    EXPECT_EQ(cam.ivar.size(), cam.flux.size());
    EXPECT_EQ(cam.mask.size(), cam.flux.size());
  }
}

TEST(DesiReaderReal, SingleBgsGalaxyAndItsRedshift) {
  SPECVAE_REQUIRE_DESI_DATA();
  const auto coadd = desi("coadd-4-80613-thru20210324.fits");
  EXPECT_EQ(count_desi_spectra(coadd), 1);
  const DesiSpectra s = read_desi_spectra(coadd);
  EXPECT_EQ(s.nspec, 1);
  EXPECT_EQ(s.file_nspec, 1);
  expect_desi_grids(s);
  ASSERT_TRUE(s.has_fibermap);
  ASSERT_EQ(s.fibermap.size(), 1u);
  EXPECT_EQ(s.fibermap[0].targetid, 39633345008634465);
  EXPECT_EQ(s.fibermap[0].objtype, "TGT");
  EXPECT_EQ(s.fibermap[0].coadd_fiberstatus, 0);
  // An SV1 target: its bits are in SV1_DESI_TARGET (BGS_ANY = bit 60), DESI_TARGET is 0.
  EXPECT_EQ(s.fibermap[0].desi_target, 0);
  EXPECT_EQ(s.fibermap[0].sv_desi_target, std::int64_t{1} << 60);
  EXPECT_EQ(s.fibermap[0].sv_bgs_target, 4112);
  for (const auto& cam : s.cameras) EXPECT_TRUE(cam.has_mask);

  const auto rr_path = desi("redrock-4-80613-thru20210324.fits");
  const auto zs = read_redshifts(rr_path);
  ASSERT_EQ(zs.size(), 1u);
  const auto joined = join_redshifts(s, zs, rr_path);
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(joined[0].targetid, 39633345008634465);
  EXPECT_NEAR(joined[0].z, 0.36874, 1e-5);
  EXPECT_EQ(joined[0].zwarn, 0);
  EXPECT_EQ(joined[0].spectype, "GALAXY");
  EXPECT_EQ(joined[0].subtype, "");
  EXPECT_GT(joined[0].deltachi2, 1e5);
}

TEST(DesiReaderReal, SpecialDarkGalaxyHeaderAndRedshift) {
  SPECVAE_REQUIRE_DESI_DATA();
  const DesiSpectra s = read_desi_spectra(desi("coadd-special-dark-27247.fits"));
  expect_desi_grids(s);
  EXPECT_EQ(s.survey, "special");
  EXPECT_EQ(s.program, "dark");
  ASSERT_EQ(s.fibermap.size(), 1u);
  EXPECT_EQ(s.fibermap[0].targetid, 39089837499744649);
  EXPECT_EQ(s.fibermap[0].scnd_target, std::int64_t{1} << 62);
  const auto rr_path = desi("redrock-special-dark-27247.fits");
  const auto joined = join_redshifts(s, read_redshifts(rr_path), rr_path);
  EXPECT_NEAR(joined.at(0).z, 0.00727, 1e-5);
}

TEST(DesiReaderReal, TwentyFiveFibresWithoutFibermapOrMask) {
  SPECVAE_REQUIRE_DESI_DATA();
  const auto path = desi("coadd-quasarnp-25fibres.fits");
  EXPECT_EQ(count_desi_spectra(path), 25);
  const DesiSpectra s = read_desi_spectra(path);
  EXPECT_EQ(s.nspec, 25);
  expect_desi_grids(s);
  EXPECT_FALSE(s.has_fibermap);
  EXPECT_TRUE(s.fibermap.empty());
  for (const auto& cam : s.cameras) {
    EXPECT_FALSE(cam.has_mask);
    EXPECT_EQ(std::count(cam.mask.begin(), cam.mask.end(), 0), std::ptrdiff_t(cam.mask.size()));
  }
  const auto rr_path = desi("redrock-test.fits");
  EXPECT_INPUT_ERROR(join_redshifts(s, read_redshifts(rr_path), rr_path),
                     "coadd-quasarnp-25fibres.fits", "no FIBERMAP", "redrock-test.fits");
}

TEST(DesiReaderReal, SkyFibresNegativeTargetidsAndEmptyRows) {
  SPECVAE_REQUIRE_DESI_DATA();
  const DesiSpectra s = read_desi_spectra(desi("coadd-sv3-dark-26065.fits"));
  EXPECT_EQ(s.survey, "sv3");
  ASSERT_EQ(s.fibermap.size(), 5u);
  EXPECT_EQ(s.fibermap[0].targetid, -2713437);
  EXPECT_EQ(s.fibermap[3].objtype, "SKY");
  EXPECT_EQ(s.fibermap[2].sv_desi_target, 2162697);
  // Rows 0, 1 and 3 have IVAR = 0 everywhere; they are read, not rejected.
  const CameraData& b = s.cameras[0];
  for (std::int64_t row : {0, 1, 3}) {
    const auto* iv = b.ivar.data() + row * std::int64_t(b.nwave());
    EXPECT_TRUE(std::all_of(iv, iv + b.nwave(), [](float v) { return v == 0.0f; })) << row;
  }
}

TEST(DesiReaderReal, TileCompressedMask) {
  SPECVAE_REQUIRE_DESI_DATA();
  // The spectra file stores MASK tile-compressed (uint32 via BZERO 2^31). Values read once
  // with astropy: row 2 (a real target) has 16 flagged R pixels; row 0 (no data) is 512 = NODATA.
  const DesiSpectra s = read_desi_spectra(desi("spectra-sv3-dark-26065.fits"));
  expect_desi_grids(s);
  const CameraData& r = s.cameras[1];
  ASSERT_TRUE(r.has_mask);
  const std::size_t nw = r.nwave();
  std::int64_t flagged = 0;
  for (std::size_t p = 0; p < nw; ++p) flagged += r.mask[2 * nw + p] != 0;
  EXPECT_EQ(flagged, 16);
  EXPECT_EQ(r.mask[0], 512);
  // FIBERSTATUS (not COADD_FIBERSTATUS) in an exposure-level file.
  EXPECT_EQ(s.fibermap.size(), 5u);
}

TEST(DesiReaderReal, RowRangesReadOnlyThoseRows) {
  SPECVAE_REQUIRE_DESI_DATA();
  for (const char* name : {"coadd-sv3-dark-26065.fits", "spectra-5-169-thru20210419.fits",
                           "coadd-quasarnp-25fibres.fits"}) {
    SCOPED_TRACE(name);
    const auto path = desi(name);
    const DesiSpectra all = read_desi_spectra(path);
    const std::int64_t first = 2, n = 2;
    const DesiSpectra part = read_desi_spectra(path, first, n);
    EXPECT_EQ(part.first_row, first);
    EXPECT_EQ(part.nspec, n);
    EXPECT_EQ(part.file_nspec, all.nspec);
    ASSERT_EQ(part.cameras.size(), all.cameras.size());
    for (std::size_t c = 0; c < all.cameras.size(); ++c) {
      const CameraData& a = all.cameras[c];
      const CameraData& p = part.cameras[c];
      const std::size_t off = std::size_t(first) * a.nwave();
      ASSERT_EQ(p.flux.size(), std::size_t(n) * a.nwave());
      EXPECT_TRUE(std::equal(p.flux.begin(), p.flux.end(), a.flux.begin() + std::ptrdiff_t(off)));
      EXPECT_TRUE(std::equal(p.ivar.begin(), p.ivar.end(), a.ivar.begin() + std::ptrdiff_t(off)));
      EXPECT_TRUE(std::equal(p.mask.begin(), p.mask.end(), a.mask.begin() + std::ptrdiff_t(off)));
    }
    if (all.has_fibermap) {
      ASSERT_EQ(part.fibermap.size(), std::size_t(n));
      EXPECT_EQ(part.fibermap[0].targetid, all.fibermap[2].targetid);
      EXPECT_EQ(part.fibermap[1].targetid, all.fibermap[3].targetid);
    }
    // The tail (n < 0) and an empty range at the end.
    EXPECT_EQ(read_desi_spectra(path, first).nspec, all.nspec - first);
    EXPECT_EQ(read_desi_spectra(path, all.nspec, 0).nspec, 0);
    EXPECT_INPUT_ERROR(read_desi_spectra(path, all.nspec - 1, 2), name, "rows");
    EXPECT_INPUT_ERROR(read_desi_spectra(path, -1, 1), name, "first row -1");
  }
}

TEST(DesiReaderReal, RedrockTestFileThreeRows) {
  SPECVAE_REQUIRE_DESI_DATA();
  const auto zs = read_redshifts(desi("redrock-test.fits"));
  ASSERT_EQ(zs.size(), 3u);
  EXPECT_EQ(zs[0].targetid, 616094145466860255);
  EXPECT_EQ(zs[0].zwarn, 1);
  EXPECT_EQ(zs[2].zwarn, 0);
  EXPECT_NEAR(zs[1].z, 0.157138086, 1e-8);
  EXPECT_LT(zs[2].z, 0.0);  // a star's slightly negative redshift is kept as is
  for (const auto& z : zs) EXPECT_EQ(z.spectype, "GALAXY");
}

TEST(DesiReaderReal, MissingRedshiftNamesBothFilesAndRow) {
  SPECVAE_REQUIRE_DESI_DATA();
  const auto coadd = desi("coadd-4-80613-thru20210324.fits");
  const auto rr_path = desi("redrock-test.fits");
  EXPECT_INPUT_ERROR(join_redshifts(read_desi_spectra(coadd), read_redshifts(rr_path), rr_path),
                     "coadd-4-80613-thru20210324.fits", "row 0", "39633345008634465",
                     "has no redshift", "redrock-test.fits");
}

// Every file against astropy (tests/data/desi_reference.py): sums per row, masks, fibermaps.
TEST(DesiReaderReal, AgreesWithAstropy) {
  SPECVAE_REQUIRE_DESI_DATA();
  const char* spectra_files[] = {"coadd-4-80613-thru20210324.fits", "coadd-5-169-thru20210419.fits",
                                 "coadd-quasarnp-25fibres.fits", "coadd-special-dark-27247.fits",
                                 "coadd-sv3-dark-26065.fits", "spectra-5-169-thru20210419.fits",
                                 "spectra-sv3-dark-26065.fits"};
  const char* redshift_files[] = {"redrock-4-80613-thru20210324.fits",
                                  "redrock-special-dark-27247.fits", "redrock-test.fits"};
  std::string cmd = std::string(SPECVAE_PYTHON) + " " + SPECVAE_SOURCE_DIR +
                    "/tests/data/desi_reference.py";
  for (const char* f : spectra_files) cmd.append(1, ' ').append(desi(f).string());
  for (const char* f : redshift_files) cmd.append(1, ' ').append(desi(f).string());
  std::string text;
  if (FILE* pipe = popen(cmd.c_str(), "r")) {
    char buf[65536];
    std::size_t got;
    while ((got = fread(buf, 1, sizeof buf, pipe)) > 0) text.append(buf, got);
    if (pclose(pipe) != 0) text.clear();
  }
  if (text.empty()) GTEST_SKIP() << "astropy reference script failed: " << cmd;
  const auto ref = nlohmann::json::parse(text);

  for (const char* f : spectra_files) {
    SCOPED_TRACE(f);
    const auto& r = ref.at(desi(f).string());
    const DesiSpectra s = read_desi_spectra(desi(f));
    for (const auto& cam : s.cameras) {
      const auto& rc = r.at("cameras").at(cam.name);
      ASSERT_EQ(rc.at("nwave").get<std::size_t>(), cam.nwave());
      ASSERT_EQ(rc.at("nspec").get<std::int64_t>(), s.nspec);
      EXPECT_DOUBLE_EQ(rc.at("wave_first").get<double>(), cam.wave.front());
      EXPECT_DOUBLE_EQ(rc.at("wave_last").get<double>(), cam.wave.back());
      for (std::int64_t row = 0; row < s.nspec; ++row) {
        const std::size_t o = std::size_t(row) * cam.nwave();
        double fsum = 0, isum = 0;
        std::int64_t mor = 0, mnz = 0;
        for (std::size_t p = 0; p < cam.nwave(); ++p) {
          if (cam.ivar[o + p] > 0) fsum += cam.flux[o + p];
          isum += cam.ivar[o + p];
          mor |= std::uint32_t(cam.mask[o + p]);
          mnz += cam.mask[o + p] != 0;
        }
        // Sums of the same float32 values in float64, in a different order: 1e-9 relative.
        const double rf = rc.at("flux_row_sum")[std::size_t(row)], ri = rc.at("ivar_row_sum")[std::size_t(row)];
        EXPECT_NEAR(fsum, rf, 1e-9 * (1 + std::abs(rf))) << cam.name << " row " << row;
        EXPECT_NEAR(isum, ri, 1e-9 * (1 + std::abs(ri))) << cam.name << " row " << row;
        EXPECT_EQ(double(cam.flux[o + 100]), rc.at("flux_at_100")[std::size_t(row)].get<double>());
        if (cam.has_mask) {
          EXPECT_EQ(mor, rc.at("mask_row_or")[std::size_t(row)].get<std::int64_t>());
          EXPECT_EQ(mnz, rc.at("mask_row_nonzero")[std::size_t(row)].get<std::int64_t>());
        }
      }
      EXPECT_EQ(cam.has_mask, rc.contains("mask_row_or"));
    }
    ASSERT_EQ(s.has_fibermap, r.contains("targetid"));
    for (std::size_t i = 0; i < s.fibermap.size(); ++i) {
      EXPECT_EQ(s.fibermap[i].targetid, r.at("targetid")[i].get<std::int64_t>());
      EXPECT_EQ(s.fibermap[i].ra, r.at("ra")[i].get<double>());
      EXPECT_EQ(s.fibermap[i].dec, r.at("dec")[i].get<double>());
      EXPECT_EQ(s.fibermap[i].coadd_fiberstatus, r.at("fiberstatus")[i].get<std::int64_t>());
      EXPECT_EQ(s.fibermap[i].objtype, r.at("objtype")[i].get<std::string>());
    }
  }
  for (const char* f : redshift_files) {
    SCOPED_TRACE(f);
    const auto& r = ref.at(desi(f).string());
    const auto zs = read_redshifts(desi(f));
    ASSERT_EQ(zs.size(), r.at("targetid").size());
    for (std::size_t i = 0; i < zs.size(); ++i) {
      EXPECT_EQ(zs[i].targetid, r.at("targetid")[i].get<std::int64_t>());
      EXPECT_EQ(zs[i].z, r.at("z")[i].get<double>());
      EXPECT_EQ(zs[i].zerr, r.at("zerr")[i].get<double>());
      EXPECT_EQ(zs[i].zwarn, r.at("zwarn")[i].get<std::int64_t>());
      EXPECT_EQ(zs[i].spectype, r.at("spectype")[i].get<std::string>());
      EXPECT_EQ(zs[i].deltachi2, r.at("deltachi2")[i].get<double>());
    }
  }
}

}  // namespace
}  // namespace specvae
