// Simulated files as files: a round trip through the project's DESI reader (every pixel,
// FIBERMAP and REDSHIFTS value exactly as rendered), the RESOLUTION HDU through CFITSIO,
// truth.csv against the files, atomic writes, refusal to overwrite, and an astropy check that
// HDU names and column dtypes match a real DESI coadd/redrock pair.
#include <fitsio.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "specvae/core/error.hpp"
#include "specvae/dist/communicator.hpp"
#include "specvae/io/desi.hpp"
#include "specvae/simulate/simulate.hpp"

namespace {

using namespace specvae;
using namespace specvae::sim;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("specvae-sim-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

Config small_survey(std::int64_t n, std::int64_t per_file) {
  Config config = Config::defaults();
  config.set_value("simulate.n_spectra", n);
  config.set_value("simulate.spectra_per_file", per_file);
  config.set_value("simulate.seed", std::int64_t{42});
  // Enough anomalies to have some in 50 spectra.
  config.set_value("simulate.anomaly.wrong_z_qso", 0.05);
  config.set_value("simulate.anomaly.sky_dip", 0.05);
  return config;
}

std::vector<std::string> read_lines(const std::filesystem::path& p) {
  std::ifstream is(p);
  std::vector<std::string> lines;
  for (std::string l; std::getline(is, l);) lines.push_back(l);
  return lines;
}

class SimulatedSurvey : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    config_ = new Config(small_survey(50, 20));
    // Two in-process ranks: groups 0 and 2 on rank 0, group 1 on rank 1.
    run_in_process(2, [](Communicator& comm) { run_simulate(StageContext(*config_, comm), {dir_->path(), false}); });
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete config_;
  }
  static TempDir* dir_;
  static Config* config_;
};
TempDir* SimulatedSurvey::dir_ = nullptr;
Config* SimulatedSurvey::config_ = nullptr;

TEST_F(SimulatedSurvey, ReaderReturnsExactlyWhatWasRendered) {
  const SurveySpec spec = SurveySpec::from_config(*config_);
  const Instrument inst = make_instrument(spec.exptime);
  ASSERT_EQ(spec.n_groups(), 3);
  for (std::int64_t g = 0; g < spec.n_groups(); ++g) {
    const GroupData d = render_group(spec, inst, g);
    const DesiSpectra s = read_desi_spectra(coadd_path(dir_->path(), spec, g));
    ASSERT_EQ(s.nspec, d.nrows);
    EXPECT_EQ(s.survey, "sv3");
    EXPECT_EQ(s.program, "bright");
    ASSERT_EQ(s.cameras.size(), 3u);
    for (int c = 0; c < kNumCameras; ++c) {
      const CameraData& cam = s.cameras[c];
      EXPECT_EQ(cam.name, inst.cameras[c].name);
      EXPECT_EQ(cam.wave, inst.cameras[c].wave);
      EXPECT_EQ(cam.flux, d.flux[c]) << "group " << g << " camera " << cam.name;
      EXPECT_EQ(cam.ivar, d.ivar[c]);
      EXPECT_TRUE(cam.has_mask);
      EXPECT_EQ(cam.mask, d.mask[c]);
    }
    ASSERT_TRUE(s.has_fibermap);
    for (std::int64_t i = 0; i < d.nrows; ++i) {
      const FiberInfo& f = s.fibermap[i];
      const ObjectParams& p = d.objects[i];
      EXPECT_EQ(f.targetid, p.targetid);
      EXPECT_EQ(f.ra, p.ra);
      EXPECT_EQ(f.dec, p.dec);
      EXPECT_EQ(f.objtype, "TGT");
      EXPECT_EQ(f.coadd_fiberstatus, 0);
      EXPECT_NE(f.desi_target, 0);
    }
    const std::vector<Redshift> z = read_redshifts(redrock_path(dir_->path(), spec, g));
    const std::vector<Redshift> joined = join_redshifts(s, z, redrock_path(dir_->path(), spec, g));
    for (std::int64_t i = 0; i < d.nrows; ++i) {
      EXPECT_EQ(joined[i].z, d.results[i].z_reported);
      EXPECT_EQ(joined[i].zwarn, d.results[i].zwarn);
      EXPECT_EQ(joined[i].spectype, class_name(d.objects[i].reported_class));
      EXPECT_EQ(joined[i].deltachi2, d.results[i].deltachi2);
    }
  }
}

TEST_F(SimulatedSurvey, ResolutionHduHoldsTheInstrumentLsfForEveryRow) {
  const SurveySpec spec = SurveySpec::from_config(*config_);
  const Instrument inst = make_instrument(spec.exptime);
  const std::string path = coadd_path(dir_->path(), spec, 1).string();
  fitsfile* f = nullptr;
  int status = 0;
  fits_open_file(&f, path.c_str(), READONLY, &status);
  ASSERT_EQ(status, 0);
  for (int c = 0; c < kNumCameras; ++c) {
    const std::string name = std::string(1, static_cast<char>(std::toupper(inst.cameras[c].name[0]))) + "_RESOLUTION";
    fits_movnam_hdu(f, IMAGE_HDU, const_cast<char*>(name.c_str()), 0, &status);
    ASSERT_EQ(status, 0) << name;
    int naxis = 0;
    long naxes[3] = {0, 0, 0};
    fits_get_img_dim(f, &naxis, &status);
    fits_get_img_size(f, 3, naxes, &status);
    ASSERT_EQ(naxis, 3);
    EXPECT_EQ(naxes[0], inst.cameras[c].nwave);
    EXPECT_EQ(naxes[1], 11);
    EXPECT_EQ(naxes[2], 20);
    const std::size_t block = static_cast<std::size_t>(naxes[0] * naxes[1]);
    std::vector<float> row(block);
    for (long r : {0L, 19L}) {
      fits_read_img(f, TFLOAT, r * static_cast<long>(block) + 1, static_cast<long>(block), nullptr, row.data(), nullptr, &status);
      ASSERT_EQ(status, 0);
      EXPECT_EQ(row, inst.cameras[c].resolution) << name << " row " << r;
    }
    // Columns of R sum to ~1 away from the edges (flux conservation).
    double sum = 0;
    for (int d = 0; d < 11; ++d) sum += row[static_cast<std::size_t>(d) * naxes[0] + naxes[0] / 2];
    EXPECT_NEAR(sum, 1.0, 0.01);
  }
  fits_close_file(f, &status);
}

TEST_F(SimulatedSurvey, TruthTableDescribesTheFiles) {
  const SurveySpec spec = SurveySpec::from_config(*config_);
  const auto lines = read_lines(dir_->path() / "truth.csv");
  ASSERT_EQ(lines.size(), 51u);
  EXPECT_EQ(lines[0], kTruthHeader);
  int wrong_z = 0;
  for (std::int64_t i = 0; i < 50; ++i) {
    std::stringstream ss(lines[i + 1]);
    std::vector<std::string> f;
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    ASSERT_EQ(f.size(), 11u) << lines[i + 1];
    EXPECT_EQ(std::stoll(f[0]), kTargetIdOffset + i);
    EXPECT_EQ(std::stoll(f[1]), i / 20);
    EXPECT_EQ(std::stoll(f[2]), i % 20);
    const ObjectParams p = draw_object(spec, i);
    EXPECT_EQ(f[3], class_name(p.true_class));
    EXPECT_EQ(f[5], anomaly_name(p.anomaly));
    if (f[5] == "wrong_z_qso") {
      ++wrong_z;
      EXPECT_GT(std::stod(f[6]), 1.7);
      EXPECT_LT(std::stod(f[7]), 0.3);
      EXPECT_EQ(f[8], "GALAXY");
    }
    EXPECT_GT(std::stod(f[10]), 0.0);
  }
  EXPECT_GT(wrong_z, 0);
  // Nothing temporary is left behind.
  for (const auto& e : std::filesystem::directory_iterator(dir_->path())) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
    EXPECT_EQ(name.find(".truth-part"), std::string::npos) << name;
  }
}

TEST_F(SimulatedSurvey, RefusesToOverwriteAnExistingSurvey) {
  EXPECT_THROW(run_in_process(1, [](Communicator& comm) { run_simulate(StageContext(*config_, comm), {dir_->path(), false}); }),
               InputError);
}

TEST(SimulateOverwrite, ReplacesAnEarlierLargerSurvey) {
  TempDir dir;
  run_in_process(1, [&](Communicator& comm) { run_simulate(StageContext(small_survey(30, 10), comm), {dir.path(), false}); });
  const SurveySpec small = SurveySpec::from_config(small_survey(12, 10));
  ASSERT_TRUE(std::filesystem::exists(coadd_path(dir.path(), small, 2)));
  run_in_process(1, [&](Communicator& comm) { run_simulate(StageContext(small_survey(12, 10), comm), {dir.path(), true}); });
  EXPECT_TRUE(std::filesystem::exists(coadd_path(dir.path(), small, 1)));
  EXPECT_FALSE(std::filesystem::exists(coadd_path(dir.path(), small, 2)));  // stale group removed
  EXPECT_FALSE(std::filesystem::exists(redrock_path(dir.path(), small, 2)));
  EXPECT_EQ(read_lines(dir.path() / "truth.csv").size(), 13u);
  EXPECT_EQ(count_desi_spectra(coadd_path(dir.path(), small, 1)), 2);
}

TEST_F(SimulatedSurvey, AstropySeesTheHdusAndDtypesOfRealDesiFiles) {
  const std::filesystem::path data = std::filesystem::path(SPECVAE_TEST_DATA_DIR) / "desi";
  const std::filesystem::path real_coadd = data / "coadd-4-80613-thru20210324.fits";
  const std::filesystem::path real_redrock = data / "redrock-4-80613-thru20210324.fits";
  if (!std::filesystem::exists(real_coadd) || !std::filesystem::exists(real_redrock))
    GTEST_SKIP() << "real DESI files not found in " << data;
  const SurveySpec spec = SurveySpec::from_config(*config_);
  const std::string cmd = std::string(SPECVAE_PYTHON) + " " + SPECVAE_SOURCE_DIR + "/tests/unit/test_simulate_format.py " +
                          coadd_path(dir_->path(), spec, 2).string() + " " + redrock_path(dir_->path(), spec, 2).string() +
                          " " + real_coadd.string() + " " + real_redrock.string() + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  const int rc = pclose(pipe);
  const int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  if (code == 77) GTEST_SKIP() << "astropy unavailable: " << out;
  EXPECT_EQ(code, 0) << out;
}

}  // namespace

// A folder name CFITSIO would read as its extended file-name syntax ("(", "[", "+", "-") is
// taken literally: the survey is written and read back there.
TEST(SimulateOverwrite, WritesIntoAFolderWithBracketsAndParentheses) {
  TempDir dir;
  const std::filesystem::path odd = dir.path() / "run (copy) [1]+-x";
  std::filesystem::create_directories(odd);
  run_in_process(1, [&](Communicator& comm) { run_simulate(StageContext(small_survey(12, 10), comm), {odd, false}); });
  const SurveySpec small = SurveySpec::from_config(small_survey(12, 10));
  ASSERT_TRUE(std::filesystem::exists(coadd_path(odd, small, 1)));
  EXPECT_EQ(count_desi_spectra(coadd_path(odd, small, 1)), 2);
}

// A user's real DESI pair in the folder (named as DESI names healpix files, which simulate's
// own names resemble): simulate refuses the folder, with --overwrite too, and leaves the files
// byte for byte as they were. Before, overwrite deleted every coadd/redrock-<survey>-<program>-N
// with N beyond its groups, and wrote its own beside the rest.
TEST(SimulateOverwrite, NeverTouchesFitsFilesItDidNotWrite) {
  TempDir dir;
  const SurveySpec spec = SurveySpec::from_config(small_survey(12, 10));
  const std::filesystem::path real = dir.path() / fmt::format("coadd-{}-{}-26065.fits", spec.survey, spec.program);
  const std::filesystem::path real_rr = dir.path() / fmt::format("redrock-{}-{}-26065.fits", spec.survey, spec.program);
  const std::filesystem::path shipped = std::filesystem::path(SPECVAE_TEST_DATA_DIR) / "desi" / "coadd-4-80613-thru20210324.fits";
  if (std::filesystem::exists(shipped)) {
    std::filesystem::copy_file(shipped, real);
  } else {
    std::ofstream(real) << "SIMPLE  =                    T";
  }
  std::ofstream(real_rr) << "a redrock file";
  const auto size = std::filesystem::file_size(real);
  for (const bool overwrite : {false, true}) {
    try {
      run_in_process(1, [&](Communicator& comm) { run_simulate(StageContext(small_survey(12, 10), comm), {dir.path(), overwrite}); });
      FAIL() << "simulate wrote into a folder holding files it did not write";
    } catch (const InputError& e) {
      EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr("did not write"));
      EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr("26065"));
    }
    ASSERT_TRUE(std::filesystem::exists(real));
    ASSERT_TRUE(std::filesystem::exists(real_rr));
    EXPECT_EQ(std::filesystem::file_size(real), size);
    EXPECT_FALSE(std::filesystem::exists(coadd_path(dir.path(), spec, 0)));  // nothing written beside them
  }
  // Its own survey it does replace, and a killed one's files stay its own (the manifest names
  // them before they are written).
  TempDir own;
  run_in_process(1, [&](Communicator& comm) { run_simulate(StageContext(small_survey(30, 10), comm), {own.path(), false}); });
  run_in_process(1, [&](Communicator& comm) { run_simulate(StageContext(small_survey(12, 10), comm), {own.path(), true}); });
  EXPECT_TRUE(std::filesystem::exists(own.path() / ".specvae-simulate"));
}

// The lighter survey for scale tests (simulate.resolution = false, simulate.compress = "rice"):
// no RESOLUTION HDUs, tile-compressed images that the reader takes as they are; masks and ivar
// exact, flux within its quantisation (1/4 of the pixel-to-pixel noise), a fraction of the bytes.
TEST(SimulateLighter, CompressedCoaddsWithoutResolutionReadBackWithinTheirQuantisation) {
  TempDir dir;
  Config config = small_survey(30, 30);
  config.set_value("simulate.resolution", false);
  config.set_value("simulate.compress", std::string("rice"));
  run_in_process(1, [&](Communicator& comm) { run_simulate(StageContext(config, comm), {dir.path(), false}); });
  const SurveySpec spec = SurveySpec::from_config(config);
  const Instrument inst = make_instrument(spec.exptime);
  const GroupData d = render_group(spec, inst, 0);
  const auto path = coadd_path(dir.path(), spec, 0);
  const DesiSpectra s = read_desi_spectra(path);
  ASSERT_EQ(s.nspec, d.nrows);
  double worst_flux = 0, worst_ivar = 0, sum_flux = 0;
  std::int64_t n = 0;
  for (int c = 0; c < kNumCameras; ++c) {
    const CameraData& cam = s.cameras[c];
    EXPECT_EQ(cam.mask, d.mask[c]) << cam.name;
    ASSERT_EQ(cam.flux.size(), d.flux[c].size());
    for (std::size_t i = 0; i < cam.flux.size(); ++i) {
      const double ivar = d.ivar[c][i];
      if (ivar <= 0) continue;
      const double sigma = 1.0 / std::sqrt(ivar), df = std::abs(cam.flux[i] - d.flux[c][i]) / sigma;
      worst_flux = std::max(worst_flux, df);
      sum_flux += df;
      ++n;
      worst_ivar = std::max(worst_ivar, std::abs(cam.ivar[i] - ivar) / ivar);
    }
  }
  ASSERT_GT(n, 0);
  EXPECT_GT(worst_flux, 0) << "the flux was not quantised: is it compressed?";
  EXPECT_LT(sum_flux / static_cast<double>(n), 0.1) << "mean |flux error| in units of the pixel's sigma";
  EXPECT_LT(worst_flux, 1.0) << "largest |flux error| in units of the pixel's sigma";
  EXPECT_EQ(worst_ivar, 0) << "largest relative ivar error (IVAR is compressed losslessly)";
  fitsfile* f = nullptr;
  int status = 0;
  ASSERT_EQ(fits_open_file(&f, path.c_str(), READONLY, &status), 0);
  EXPECT_NE(fits_movnam_hdu(f, ANY_HDU, const_cast<char*>("B_RESOLUTION"), 0, &status), 0) << "RESOLUTION written";
  status = 0;
  ASSERT_EQ(fits_movnam_hdu(f, ANY_HDU, const_cast<char*>("B_FLUX"), 0, &status), 0);
  EXPECT_EQ(fits_is_compressed_image(f, &status), 1);
  fits_close_file(f, &status);
  const double bytes_per_spectrum = static_cast<double>(std::filesystem::file_size(path)) / static_cast<double>(d.nrows);
  RecordProperty("coadd_bytes_per_spectrum", std::to_string(bytes_per_spectrum));
  std::printf("lighter coadd: %.0f bytes a spectrum; flux error mean %.4f, max %.3f sigma; ivar max %.2e\n",
              bytes_per_spectrum, sum_flux / static_cast<double>(n), worst_flux, worst_ivar);
  EXPECT_LT(bytes_per_spectrum, 40000);  // DESI's layout: ≈ 446 KB, 95 KB without RESOLUTION
}
