// The ingest stage on a small synthetic survey in DESI's formats (written by
// test_ingest_make_survey.py): identical rows with 1, 2 and 3 in-process ranks, the selection
// and its counts, unit-norm rows with consistent masks, and bad files (error or skip).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "specvae/core/error.hpp"
#include "specvae/ingest/ingest.hpp"

namespace fs = std::filesystem;
using namespace specvae;
using namespace specvae::ingest;

namespace {

fs::path make_survey(const std::string& name, const std::string& args) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("specvae_ingest_{}_{}", name, ::getpid());
  fs::remove_all(dir);
  const std::string cmd = fmt::format("{} {}/tests/unit/test_ingest_make_survey.py {} {}", SPECVAE_PYTHON,
                                      SPECVAE_SOURCE_DIR, dir.string(), args);
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return dir;
}

Config small_config() {
  Config c = Config::defaults();
  c.set("ingest.pca_sample=40");   // a sample smaller than the survey, so it is really sampled
  c.set("ingest.chunk_rows=7");    // several chunks per file, some straddling rank boundaries
  c.set("ingest.pca_n_iter=8");
  c.set("runtime.log_level=warn");
  return c;
}

// Runs the stage on P in-process ranks and concatenates their rows in rank order.
struct StageRun {
  DatasetRows rows;
  DatasetProvenance prov;
  std::int64_t total = 0;
};
StageRun run_ranks(int P, const Config& cfg, const std::vector<InputPair>& pairs) {
  std::vector<IngestOutput> outs(P);
  run_in_process(P, [&](Communicator& comm) { outs[comm.rank()] = preprocess_survey(comm, cfg, pairs); });
  StageRun r;
  r.rows.n_bins = outs[0].rows.n_bins;
  r.prov = outs[0].provenance;
  r.total = outs[0].total_rows;
  std::int64_t expect_begin = 0;
  for (const auto& o : outs) {
    EXPECT_EQ(o.rows.begin, expect_begin);
    EXPECT_EQ(o.total_rows, r.total);
    EXPECT_EQ(o.provenance.rejected, r.prov.rejected);
    EXPECT_EQ(o.provenance.extra_string_attrs, r.prov.extra_string_attrs);
    expect_begin += o.rows.count;
    auto cat = [](auto& a, const auto& b) { a.insert(a.end(), b.begin(), b.end()); };
    cat(r.rows.flux, o.rows.flux), cat(r.rows.ivar, o.rows.ivar), cat(r.rows.mask, o.rows.mask);
    r.rows.append_columns(o.rows);
  }
  r.rows.count = expect_begin;
  EXPECT_EQ(r.rows.count, r.total);
  return r;
}

class IngestSurvey : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const fs::path zcat = fs::temp_directory_path() / fmt::format("specvae_ingest_zcat_{}.fits", ::getpid());
    dir_ = make_survey("survey", "--files 3 --per-file 30 --seed 3 --zcatalog " + zcat.string());
    fs::rename(zcat, dir_ / "zall-test.fits");
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static fs::path dir_;
};
fs::path IngestSurvey::dir_;

}  // namespace

TEST_F(IngestSurvey, FindsPairsBySuffix) {
  auto pairs = find_input_pairs({dir_});
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[1].coadd.filename(), "coadd-test-1.fits");
  EXPECT_EQ(pairs[1].redrock.filename(), "redrock-test-1.fits");
  // Naming the redrock file finds its coadd; duplicates collapse.
  auto one = find_input_pairs({dir_ / "redrock-test-2.fits", dir_ / "coadd-test-2.fits"});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].coadd.filename(), "coadd-test-2.fits");
  EXPECT_THROW(find_input_pairs({dir_ / "nothing-here"}), InputError);
  EXPECT_THROW(find_input_pairs({}), InputError);
  const fs::path lonely = dir_.string() + "_lonely";
  fs::create_directories(lonely);
  fs::copy_file(dir_ / "coadd-test-0.fits", lonely / "coadd-x.fits", fs::copy_options::overwrite_existing);
  try {
    find_input_pairs({lonely});
    ADD_FAILURE() << "a coadd without its redrock file was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("redrock-x.fits"), std::string::npos) << e.what();
  }
  fs::remove_all(lonely);
}

TEST_F(IngestSurvey, OneTwoAndThreeRanksGiveIdenticalRows) {
  const auto pairs = find_input_pairs({dir_});
  const Config cfg = small_config();
  StageRun one = run_ranks(1, cfg, pairs);
  ASSERT_GT(one.total, 20);
  for (int P : {2, 3}) {
    StageRun many = run_ranks(P, cfg, pairs);
    EXPECT_EQ(many.total, one.total) << P;
    EXPECT_EQ(many.rows.targetid, one.rows.targetid) << P;
    EXPECT_EQ(many.rows.flux, one.rows.flux) << P;  // bit for bit
    EXPECT_EQ(many.rows.ivar, one.rows.ivar) << P;
    EXPECT_EQ(many.rows.mask, one.rows.mask) << P;
    EXPECT_EQ(many.rows.snr, one.rows.snr) << P;
    EXPECT_EQ(many.rows.split, one.rows.split) << P;
    EXPECT_EQ(many.rows.z, one.rows.z) << P;
    EXPECT_EQ(many.rows.spectype, one.rows.spectype) << P;
    EXPECT_EQ(many.rows.ra, one.rows.ra) << P;
    EXPECT_EQ(many.rows.survey, one.rows.survey) << P;
    EXPECT_EQ(many.rows.zwarn, one.rows.zwarn) << P;
    EXPECT_EQ(many.prov.rejected, one.prov.rejected) << P;
    EXPECT_EQ(many.prov.extra_string_attrs, one.prov.extra_string_attrs) << P;
  }
}

TEST_F(IngestSurvey, RedshiftsFromAZcatalogGiveTheSameRows) {
  const Config cfg = small_config();
  StageRun a = run_ranks(1, cfg, find_input_pairs({dir_}));
  const auto zpairs = find_input_pairs({dir_}, dir_ / "zall-test.fits");
  ASSERT_EQ(zpairs.size(), 3u);
  EXPECT_TRUE(zpairs[0].zcatalog);
  StageRun b = run_ranks(2, cfg, zpairs);
  EXPECT_EQ(a.rows.targetid, b.rows.targetid);
  EXPECT_EQ(a.rows.flux, b.rows.flux);
  EXPECT_EQ(a.rows.z, b.rows.z);
  EXPECT_EQ(a.prov.rejected, b.prov.rejected);
  EXPECT_EQ(b.prov.input_files.back(), (dir_ / "zall-test.fits").string());
  EXPECT_THROW(find_input_pairs({dir_}, dir_ / "missing.fits"), InputError);
}

TEST_F(IngestSurvey, SelectsNormalisesAndCountsRejections) {
  const auto pairs = find_input_pairs({dir_});
  StageRun r = run_ranks(1, small_config(), pairs);
  std::ifstream tf(dir_ / "truth.json");
  const auto truth = nlohmann::json::parse(tf);
  std::int64_t n_out_of_z = 0, n_faint_in_z = 0;
  for (const auto& t : truth) {
    if (t["z"].get<double>() > 0.3) ++n_out_of_z;
    else if (t["faint"].get<bool>()) ++n_faint_in_z;
  }
  ASSERT_GT(n_out_of_z, 0);
  ASSERT_GT(n_faint_in_z, 0);
  const auto& rej = r.prov.rejected;
  EXPECT_EQ(rej.at("z_range"), n_out_of_z);
  EXPECT_GE(rej.at("snr"), n_faint_in_z);
  EXPECT_EQ(rej.at("zwarn"), 0);
  std::int64_t rejected = 0;
  for (const auto& [k, v] : rej) rejected += v;
  EXPECT_EQ(r.total + rejected, std::int64_t(truth.size()));

  const int B = r.rows.n_bins;
  ASSERT_EQ(B, 1000);
  EXPECT_EQ(r.prov.wave.size(), 1000u);
  std::int64_t n_val = 0;
  for (std::int64_t i = 0; i < r.rows.count; ++i) {
    if (i > 0) {
      EXPECT_LT(r.rows.targetid[i - 1], r.rows.targetid[i]) << "rows follow file order then row";
    }
    EXPECT_GE(r.rows.z[i], 0.0);
    EXPECT_LE(r.rows.z[i], 0.3);
    EXPECT_GT(r.rows.snr[i], 5.0f);
    double ss = 0;
    int masked = 0;
    for (int b = 0; b < B; ++b) {
      const float f = r.rows.flux[i * B + b], iv = r.rows.ivar[i * B + b];
      ASSERT_TRUE(std::isfinite(f) && std::isfinite(iv) && iv >= 0);
      ss += double(f) * f;
      if (r.rows.mask[i * B + b]) {
        EXPECT_EQ(iv, 0.0f);
        ++masked;
      }
    }
    EXPECT_NEAR(std::sqrt(ss), 1.0, 1e-5) << "row " << i;
    EXPECT_LT(masked, B / 10) << "z <= 0.3 covers the whole grid; only cosmic-ray/zero-ivar runs are masked";
    EXPECT_EQ(r.rows.split[i], split_of(r.rows.targetid[i], 0.25));
    n_val += r.rows.split[i];
  }
  EXPECT_GT(n_val, 0);
  EXPECT_LT(n_val, r.rows.count);
  // Stars are kept by default and dropped by a SPECTYPE filter.
  Config only_gal = small_config();
  only_gal.set("ingest.spectypes=[\"GALAXY\"]");
  StageRun g = run_ranks(2, only_gal, pairs);
  EXPECT_GT(g.prov.rejected.at("spectype"), 0);
  for (const auto& t : g.rows.spectype) EXPECT_EQ(t, "GALAXY");
  EXPECT_EQ(g.total + g.prov.rejected.at("spectype"), r.total + r.prov.rejected.at("z_range") - g.prov.rejected.at("z_range") +
                                                          r.prov.rejected.at("snr") - g.prov.rejected.at("snr") +
                                                          r.prov.rejected.at("no_data") - g.prov.rejected.at("no_data"));
}

// The same spectra in two files: one row per (TARGETID, SURVEY, PROGRAM), the rule's choice
// whatever the rank count; a second program keeps its own row unless ingest.dedup = "targetid".
TEST_F(IngestSurvey, OneRowPerTargetSurveyAndProgram) {
  const Config cfg = small_config();
  const StageRun base = run_ranks(1, cfg, find_input_pairs({dir_}));
  EXPECT_EQ(base.prov.rejected.at("duplicate"), 0);
  std::int64_t in_file_1 = 0;
  for (std::int64_t i = 0; i < base.rows.count; ++i) in_file_1 += base.rows.healpix[i] == 1;
  ASSERT_GT(in_file_1, 0);
  EXPECT_EQ(base.rows.survey.front(), "sv3");
  EXPECT_EQ(base.rows.program.front(), "bright");

  // coadd-test-9 repeats coadd-test-1: same survey and program, so its rows are dropped (equal
  // ZWARN and S/N: the first in input order, file 1, wins).
  const fs::path twin = dir_.string() + "_twin";
  fs::remove_all(twin);
  fs::create_directories(twin);
  for (const char* kind : {"coadd", "redrock"})
    for (int f : {0, 1, 2}) fs::copy_file(dir_ / fmt::format("{}-test-{}.fits", kind, f), twin / fmt::format("{}-test-{}.fits", kind, f));
  fs::copy_file(dir_ / "coadd-test-1.fits", twin / "coadd-test-9.fits");
  fs::copy_file(dir_ / "redrock-test-1.fits", twin / "redrock-test-9.fits");
  for (int P : {1, 2, 3}) {
    const StageRun r = run_ranks(P, cfg, find_input_pairs({twin}));
    EXPECT_EQ(r.total, base.total) << P;
    EXPECT_EQ(r.prov.rejected.at("duplicate"), in_file_1) << P;
    EXPECT_EQ(r.rows.targetid, base.rows.targetid) << P;
    EXPECT_EQ(r.rows.flux, base.rows.flux) << P;
  }

  // The copy now says PROGRAM = dark: another key, so its rows stay, unless one row per TARGETID.
  const std::string cmd = fmt::format(
      "{} -c \"from astropy.io import fits; fits.setval('{}', 'PROGRAM', value='dark', ext=0)\"", SPECVAE_PYTHON,
      (twin / "coadd-test-9.fits").string());
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const StageRun kept = run_ranks(2, cfg, find_input_pairs({twin}));
  EXPECT_EQ(kept.total, base.total + in_file_1);
  EXPECT_EQ(kept.prov.rejected.at("duplicate"), 0);
  EXPECT_EQ(kept.rows.program.back(), "dark");
  Config per_target = cfg;
  per_target.set("ingest.dedup=\"targetid\"");
  for (int P : {1, 3}) {
    const StageRun one = run_ranks(P, per_target, find_input_pairs({twin}));
    EXPECT_EQ(one.total, base.total) << P;
    EXPECT_EQ(one.rows.targetid, base.rows.targetid) << P;
    EXPECT_EQ(one.rows.program, base.rows.program) << P;
  }
  fs::remove_all(twin);
}

TEST(IngestBadFile, StopsTheJobOrIsSkippedAndCounted) {
  const fs::path dir = make_survey("bad", "--files 3 --per-file 12 --seed 4 --corrupt 1");
  const auto pairs = find_input_pairs({dir});
  Config cfg = small_config();
  try {
    run_ranks(1, cfg, pairs);
    ADD_FAILURE() << "a truncated coadd file was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("coadd-test-1.fits"), std::string::npos) << e.what();
  }
  cfg.set("ingest.on_bad_file=skip");
  for (int P : {1, 2}) {
    StageRun r = run_ranks(P, cfg, pairs);
    EXPECT_NE(r.prov.extra_string_attrs.at("skipped_files").find("coadd-test-1.fits"), std::string::npos);
    EXPECT_EQ(r.prov.extra_string_attrs.at("skipped_files").find("coadd-test-0.fits"), std::string::npos);
    ASSERT_GT(r.total, 0);
    for (auto t : r.rows.targetid) EXPECT_TRUE(t < 2000000 || t >= 3000000) << t;
  }
  fs::remove_all(dir);
}
