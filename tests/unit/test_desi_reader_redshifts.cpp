// Redshift files (redrock REDSHIFTS, zcatalog ZCATALOG) and the TARGETID join: column type
// checks, non-finite Z, a spectrum with no redshift, duplicates resolved by SURVEY/PROGRAM.
#include "specvae/io/desi.hpp"
#include "test_desi_reader_fixture.hpp"
#include "test_desi_reader_util.hpp"

namespace specvae {
namespace {

using testing::MiniRedshifts;
using testing::TempDir;

class DesiRedshifts : public ::testing::Test {
 protected:
  std::filesystem::path write(const MiniRedshifts& r, const std::string& name = "redrock-test.fits") {
    const auto p = dir_ / name;
    testing::write_redshifts(r, p);
    return p;
  }
  DesiSpectra spectra_with(std::vector<std::int64_t> tids, std::string survey = "main") {
    testing::MiniCoadd c = testing::default_coadd(long(tids.size()));
    c.targetid = std::move(tids);
    c.survey = std::move(survey);
    const auto p = dir_ / "coadd-test.fits";
    std::filesystem::remove(p);
    testing::write_coadd(c, p);
    return read_desi_spectra(p);
  }
  TempDir dir_;
};

TEST_F(DesiRedshifts, JoinFollowsSpectraOrder) {
  MiniRedshifts r;
  r.targetid = {30, 10, 20};
  r.z = {0.3, 0.1, 0.2};
  const auto path = write(r);
  const auto zs = read_redshifts(path);
  ASSERT_EQ(zs.size(), 3u);
  EXPECT_EQ(zs[0].spectype, "GALAXY");
  const auto joined = join_redshifts(spectra_with({20, 30, 10, 20}), zs, path);
  ASSERT_EQ(joined.size(), 4u);
  EXPECT_EQ(joined[0].z, 0.2);
  EXPECT_EQ(joined[1].z, 0.3);
  EXPECT_EQ(joined[2].z, 0.1);
  EXPECT_EQ(joined[3].targetid, 20);
}

TEST_F(DesiRedshifts, SpectrumWithoutRedshift) {
  MiniRedshifts r;
  r.targetid = {10, 20};
  r.z = {0.1, 0.2};
  const auto path = write(r);
  EXPECT_INPUT_ERROR(join_redshifts(spectra_with({10, 20, 99}), read_redshifts(path), path),
                     "coadd-test.fits", "FIBERMAP row 2", "TARGETID 99", "has no redshift",
                     "redrock-test.fits");
}

TEST_F(DesiRedshifts, ZColumnNotFloat64) {
  MiniRedshifts r;
  r.targetid = {10};
  r.z = {0.1};
  r.z_tform = "E";
  EXPECT_INPUT_ERROR(read_redshifts(write(r)), "redrock-test.fits", "HDU REDSHIFTS",
                     "column Z has TFORM E", "DESI writes D");
}

TEST_F(DesiRedshifts, NonFiniteZ) {
  MiniRedshifts r;
  r.targetid = {10, 20};
  r.z = {0.1, std::numeric_limits<double>::quiet_NaN()};
  EXPECT_INPUT_ERROR(read_redshifts(write(r)), "redrock-test.fits", "HDU REDSHIFTS",
                     "row 1 (TARGETID 20)", "Z is nan");
}

TEST_F(DesiRedshifts, NoRedshiftHdu) {
  MiniRedshifts r;
  r.extname = "SOMETHING";
  r.targetid = {10};
  r.z = {0.1};
  EXPECT_INPUT_ERROR(read_redshifts(write(r)), "redrock-test.fits",
                     "neither a REDSHIFTS HDU (redrock file) nor a ZCATALOG HDU");
}

TEST_F(DesiRedshifts, ZcatalogDuplicatesResolvedBySurveyAndProgram) {
  MiniRedshifts r;
  r.extname = "ZCATALOG";
  r.targetid = {10, 10, 20};
  r.z = {0.11, 0.12, 0.2};
  r.survey = {"sv3", "main", "main"};
  r.program = {"bright", "bright", "bright"};
  const auto path = write(r, "zpix-test.fits");
  const auto zs = read_redshifts(path);
  ASSERT_EQ(zs.size(), 3u);
  EXPECT_EQ(zs[0].survey, "sv3");
  const auto joined = join_redshifts(spectra_with({20, 10}), zs, path);
  EXPECT_EQ(joined[1].z, 0.12);
  EXPECT_EQ(joined[1].survey, "main");
  // A coadd of another survey cannot tell the two rows apart.
  EXPECT_INPUT_ERROR(join_redshifts(spectra_with({10}, "sv1"), zs, path), "FIBERMAP row 0",
                     "TARGETID 10 has 2 rows in", "zpix-test.fits", "0 of them match",
                     "SURVEY 'sv1'");
}

// A zcatalog with one row for a target, from another survey or program than the coadd's (the
// wrong zpix-SURVEY-PROGRAM file): that redshift was fitted on another coadd.
TEST_F(DesiRedshifts, ZcatalogRowOfAnotherSurveyIsNotThisSpectrums) {
  MiniRedshifts r;
  r.extname = "ZCATALOG";
  r.targetid = {10, 20};
  r.z = {0.11, 0.2};
  r.survey = {"sv3", "main"};
  r.program = {"bright", "bright"};
  const auto path = write(r, "zpix-test.fits");
  const auto zs = read_redshifts(path);
  EXPECT_EQ(join_redshifts(spectra_with({20}), zs, path).at(0).z, 0.2);
  EXPECT_INPUT_ERROR(join_redshifts(spectra_with({10}), zs, path), "coadd-test.fits", "FIBERMAP row 0",
                     "TARGETID 10 has no row for this file's SURVEY 'main' / PROGRAM 'bright'", "zpix-test.fits",
                     "'sv3' / 'bright'");
}

// Only what both sides state is compared, ignoring case: a zcatalog without a PROGRAM column,
// or one in upper case, still matches.
TEST_F(DesiRedshifts, ZcatalogSurveyComparedWhereBothSidesHaveIt) {
  MiniRedshifts r;
  r.extname = "ZCATALOG";
  r.targetid = {10};
  r.z = {0.11};
  r.survey = {"MAIN"};
  r.program = {""};
  const auto path = write(r, "zpix-test.fits");
  EXPECT_EQ(join_redshifts(spectra_with({10}), read_redshifts(path), path).at(0).z, 0.11);
}

TEST_F(DesiRedshifts, RedrockRepeatsATargetid) {
  MiniRedshifts r;
  r.targetid = {10, 20, 10};
  r.z = {0.1, 0.2, 0.3};
  const auto path = write(r);
  EXPECT_INPUT_ERROR(join_redshifts(spectra_with({20, 10}), read_redshifts(path), path), "redrock-test.fits",
                     "TARGETID 10", "FIBERMAP row 1 of", "appears in 2 rows", "one row per target");
}

// More rows than one read block (65536), so block boundaries are crossed; the filtered read
// keeps only wanted TARGETIDs, in file order.
TEST_F(DesiRedshifts, BlocksAndTargetidFilter) {
  MiniRedshifts r;
  r.extname = "ZCATALOG";
  const std::int64_t n = 70000;
  for (std::int64_t i = 0; i < n; ++i) {
    r.targetid.push_back(1000 + i);
    r.z.push_back(double(i) * 1e-5);
  }
  const auto path = write(r, "zall-test.fits");
  const auto all = read_redshifts(path);
  ASSERT_EQ(all.size(), std::size_t(n));
  EXPECT_EQ(all[65535].targetid, 1000 + 65535);
  EXPECT_EQ(all[65536].targetid, 1000 + 65536);
  EXPECT_EQ(all[65536].z, 65536 * 1e-5);
  EXPECT_EQ(all.back().targetid, 1000 + n - 1);

  const std::vector<std::int64_t> wanted = {1000 + 65540, 42, 1000 + 5};
  const auto some = read_redshifts(path, wanted);
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[0].targetid, 1005);
  EXPECT_EQ(some[0].z, 5e-5);
  EXPECT_EQ(some[1].targetid, 1000 + 65540);
  EXPECT_TRUE(read_redshifts(path, std::vector<std::int64_t>{7}).empty());
}

TEST_F(DesiRedshifts, NonFiniteZOfUnwantedRowIsIgnoredByFilteredRead) {
  MiniRedshifts r;
  r.targetid = {10, 20};
  r.z = {0.1, std::numeric_limits<double>::infinity()};
  const auto path = write(r);
  EXPECT_EQ(read_redshifts(path, std::vector<std::int64_t>{10}).size(), 1u);
  EXPECT_INPUT_ERROR(read_redshifts(path, std::vector<std::int64_t>{20}), "row 1 (TARGETID 20)",
                     "Z is inf");
}

}  // namespace
}  // namespace specvae
