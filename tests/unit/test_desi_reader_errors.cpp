// Bad DESI files give InputErrors that name the file, the HDU and the row/column: each test
// writes a small coadd (tests/unit/test_desi_reader_fixture.hpp) with exactly one defect, or
// truncates a copy of a real file.
#include <fstream>

#include "specvae/io/desi.hpp"
#include "test_desi_reader_fixture.hpp"
#include "test_desi_reader_util.hpp"

namespace specvae {
namespace {

using testing::default_coadd;
using testing::MiniCoadd;
using testing::TempDir;
using testing::write_coadd;

class DesiReaderErrors : public ::testing::Test {
 protected:
  std::filesystem::path write(const MiniCoadd& c, const std::string& name = "coadd-test.fits") {
    const auto p = dir_ / name;
    write_coadd(c, p);
    return p;
  }
  TempDir dir_;
};

TEST_F(DesiReaderErrors, BaselineFileReadsBackExactly) {
  MiniCoadd c = default_coadd();
  c.cameras[1].compress_mask = true;
  const DesiSpectra s = read_desi_spectra(write(c));
  ASSERT_EQ(s.cameras.size(), 2u);
  EXPECT_EQ(s.survey, "main");
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(s.cameras[k].wave, c.cameras[k].wave);
    EXPECT_EQ(s.cameras[k].flux, c.cameras[k].flux);
    EXPECT_EQ(s.cameras[k].ivar, c.cameras[k].ivar);
    ASSERT_EQ(s.cameras[k].mask.size(), c.cameras[k].mask.size());
    for (std::size_t i = 0; i < c.cameras[k].mask.size(); ++i)
      ASSERT_EQ(std::uint32_t(s.cameras[k].mask[i]), c.cameras[k].mask[i]) << k << " " << i;
  }
  EXPECT_EQ(s.fibermap.at(2).targetid, c.targetid[2]);
  EXPECT_EQ(s.fibermap.at(2).objtype, "TGT");
}

TEST_F(DesiReaderErrors, AnyCameraNamesAreSortedByWavelength) {
  MiniCoadd c = default_coadd();
  std::swap(c.cameras[0], c.cameras[1]);  // R written first
  c.cameras[0].name = "X";
  c.cameras[1].name = "BRZ";
  const DesiSpectra s = read_desi_spectra(write(c));
  ASSERT_EQ(s.cameras.size(), 2u);
  EXPECT_EQ(s.cameras[0].name, "brz");
  EXPECT_EQ(s.cameras[1].name, "x");
}

TEST_F(DesiReaderErrors, MissingHdu) {
  MiniCoadd c = default_coadd();
  c.cameras[1].write_ivar = false;
  EXPECT_INPUT_ERROR(read_desi_spectra(write(c)), "coadd-test.fits", "missing HDU R_IVAR");
}

TEST_F(DesiReaderErrors, AnHduTwice) {
  MiniCoadd c = default_coadd();
  c.repeat_first_flux = true;  // B_FLUX read once, or camera B counted twice
  EXPECT_INPUT_ERROR(count_desi_spectra(write(c)), "coadd-test.fits", "HDU B_FLUX appears twice");
}

TEST_F(DesiReaderErrors, WavelengthsNotInAngstrom) {
  MiniCoadd c = default_coadd();
  c.cameras[0].wave_bunit = "Angstrom";
  EXPECT_EQ(count_desi_spectra(write(c, "coadd-ok.fits")), 3);
  c.cameras[1].wave_bunit = "nm";
  EXPECT_INPUT_ERROR(count_desi_spectra(write(c)), "coadd-test.fits", "HDU R_WAVELENGTH", "wavelengths in 'nm'");
}

TEST_F(DesiReaderErrors, CoaddRepeatsATargetid) {
  MiniCoadd c = default_coadd();
  EXPECT_NO_THROW(check_coadd_targetids(write(c, "coadd-ok.fits")));
  c.targetid = {7, 5, 7};
  EXPECT_INPUT_ERROR(check_coadd_targetids(write(c)), "coadd-test.fits", "HDU FIBERMAP", "rows 0 and 2",
                     "same TARGETID 7");
}

TEST_F(DesiReaderErrors, NoCameraAtAll) {
  MiniCoadd c = default_coadd();
  c.cameras.clear();
  EXPECT_INPUT_ERROR(read_desi_spectra(write(c)), "coadd-test.fits", "no <camera>_FLUX HDU");
}

TEST_F(DesiReaderErrors, FluxNotFloat32) {
  MiniCoadd c = default_coadd();
  c.cameras[0].flux_bitpix = DOUBLE_IMG;
  EXPECT_INPUT_ERROR(read_desi_spectra(write(c)), "coadd-test.fits", "HDU B_FLUX", "BITPIX -32",
                     "found BITPIX -64");
}

TEST_F(DesiReaderErrors, WavelengthNotFloat64) {
  MiniCoadd c = default_coadd();
  c.cameras[1].wave_bitpix = FLOAT_IMG;
  EXPECT_INPUT_ERROR(count_desi_spectra(write(c)), "coadd-test.fits", "HDU R_WAVELENGTH",
                     "BITPIX -64", "found BITPIX -32");
}

TEST_F(DesiReaderErrors, MaskNot32BitIntegers) {
  MiniCoadd c = default_coadd();
  for (auto& cam : c.cameras) std::fill(cam.mask.begin(), cam.mask.end(), 0u);
  c.cameras[0].mask_bitpix = SHORT_IMG;
  EXPECT_INPUT_ERROR(read_desi_spectra(write(c)), "coadd-test.fits", "HDU B_MASK", "BITPIX 32",
                     "found BITPIX 16");
}

TEST_F(DesiReaderErrors, SignedInt32MaskIsAccepted) {
  MiniCoadd c = default_coadd();
  for (auto& cam : c.cameras) {
    cam.mask_bitpix = LONG_IMG;  // no BZERO, as in some older coadds
    cam.mask.back() = 1u << 12;
  }
  const DesiSpectra s = read_desi_spectra(write(c));
  EXPECT_EQ(s.cameras[0].mask.back(), 1 << 12);
  EXPECT_EQ(s.cameras[0].mask[3], 4);
}

TEST_F(DesiReaderErrors, IvarRowsDifferFromFluxRows) {
  MiniCoadd c = default_coadd();
  c.cameras[1].ivar_rows = 2;
  EXPECT_INPUT_ERROR(read_desi_spectra(write(c)), "coadd-test.fits", "HDU R_IVAR",
                     "has 2 spectra but B_FLUX has 3");
}

TEST_F(DesiReaderErrors, FibermapRowsDifferFromFluxRows) {
  MiniCoadd c = default_coadd();
  c.fibermap_rows = 4;
  EXPECT_INPUT_ERROR(read_desi_spectra(write(c)), "coadd-test.fits", "HDU FIBERMAP",
                     "has 4 rows but the FLUX HDUs have 3 spectra");
}

TEST_F(DesiReaderErrors, FluxWidthDiffersFromWavelengthLength) {
  MiniCoadd c = default_coadd();
  c.cameras[0].flux_width = 41;
  EXPECT_INPUT_ERROR(read_desi_spectra(write(c)), "coadd-test.fits", "HDU B_FLUX",
                     "rows have 41 pixels but the wavelength grid has 40");
}

TEST_F(DesiReaderErrors, WavelengthNotIncreasing) {
  MiniCoadd c = default_coadd();
  c.cameras[0].wave[5] = c.cameras[0].wave[4];
  EXPECT_INPUT_ERROR(read_desi_spectra(write(c)), "coadd-test.fits", "HDU B_WAVELENGTH",
                     "not strictly increasing", "pixel 5");
}

TEST_F(DesiReaderErrors, WavelengthNotFinite) {
  MiniCoadd c = default_coadd();
  c.cameras[1].wave[3] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_INPUT_ERROR(read_desi_spectra(write(c)), "coadd-test.fits", "HDU R_WAVELENGTH",
                     "pixel 3 is nan");
}

TEST_F(DesiReaderErrors, CameraGridsNotAligned) {
  MiniCoadd c = default_coadd();
  c.cameras[1].wave = testing::desi_grid(3624.3, 40);  // r overlap pixels 0.3 Å off b's grid
  EXPECT_INPUT_ERROR(read_desi_spectra(write(c)), "coadd-test.fits", "HDU R_WAVELENGTH",
                     "pixel 0", "0.3 Å from the nearest pixel of camera(s) b", "0.0001");
}

TEST_F(DesiReaderErrors, CameraGridsAlignedWithinTolerance) {
  MiniCoadd c = default_coadd();
  c.cameras[1].wave = testing::desi_grid(3624.0 + 5e-5, 40);  // inside desispec's 1e-4 Å
  EXPECT_EQ(read_desi_spectra(write(c)).nspec, 3);
}

TEST_F(DesiReaderErrors, NonFiniteFluxWhereIvarPositive) {
  MiniCoadd c = default_coadd();
  c.cameras[0].flux[1 * 40 + 7] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_INPUT_ERROR(read_desi_spectra(write(c)), "coadd-test.fits", "HDU B_FLUX",
                     "row 1 pixel 7", "FLUX is nan");
}

TEST_F(DesiReaderErrors, NonFiniteFluxWhereIvarZeroIsZeroed) {
  MiniCoadd c = default_coadd();
  c.cameras[0].flux[1 * 40 + 7] = std::numeric_limits<float>::infinity();
  c.cameras[0].ivar[1 * 40 + 7] = 0.0f;
  const DesiSpectra s = read_desi_spectra(write(c));
  EXPECT_EQ(s.cameras[0].flux[1 * 40 + 7], 0.0f);
  EXPECT_EQ(s.cameras[0].flux[1 * 40 + 8], c.cameras[0].flux[1 * 40 + 8]);
}

TEST_F(DesiReaderErrors, NonFiniteOrNegativeIvar) {
  MiniCoadd c = default_coadd();
  c.cameras[1].ivar[2 * 40 + 0] = std::numeric_limits<float>::infinity();
  const auto path = write(c);
  EXPECT_INPUT_ERROR(read_desi_spectra(path), "coadd-test.fits", "HDU R_IVAR", "row 2 pixel 0",
                     "IVAR is inf");
  // Only the rows asked for are read and checked: rows 0-1 are fine.
  EXPECT_EQ(read_desi_spectra(path, 0, 2).nspec, 2);
  // A row range reports the row number in the file, not in the block.
  EXPECT_INPUT_ERROR(read_desi_spectra(path, 2, 1), "row 2 pixel 0");

  MiniCoadd neg = default_coadd();
  neg.cameras[0].ivar[5] = -1.0f;
  EXPECT_INPUT_ERROR(read_desi_spectra(write(neg, "neg.fits")), "neg.fits", "HDU B_IVAR",
                     "row 0 pixel 5", "IVAR is -1");
}

TEST_F(DesiReaderErrors, TargetidNotInt64) {
  MiniCoadd c = default_coadd();
  c.targetid = {1, 2, 3};
  c.targetid_tform = "J";
  EXPECT_INPUT_ERROR(read_desi_spectra(write(c)), "coadd-test.fits", "HDU FIBERMAP",
                     "column TARGETID has TFORM J (int32 (J)", "DESI writes K");
}

TEST_F(DesiReaderErrors, NotAFitsFileOrAbsent) {
  const auto text = dir_ / "notes.fits";
  std::ofstream(text) << "SIMPLE? no, this is a text file\n";
  EXPECT_INPUT_ERROR(read_desi_spectra(text), "notes.fits", "cannot open as a FITS file");
  EXPECT_INPUT_ERROR(read_desi_spectra(dir_ / "absent.fits"), "absent.fits", "no such file");
  EXPECT_INPUT_ERROR(read_redshifts(dir_ / "absent.fits"), "absent.fits", "no such file");
}

TEST(FitsErrorString, StatusTextAndErrorStack) {
  // Leave a message on CFITSIO's error stack, then check it is reported and drained.
  int status = 0;
  fitsfile* f = nullptr;
  fits_open_diskfile(&f, "/nonexistent/specvae-no-such-file.fits", READONLY, &status);
  ASSERT_NE(status, 0);
  const std::string text = detail::fits_error_string(status);
  EXPECT_THAT(text, ::testing::HasSubstr(fmt::format("CFITSIO status {}", status)));
  EXPECT_THAT(text, ::testing::HasSubstr("specvae-no-such-file.fits"));
  EXPECT_THAT(detail::fits_error_string(END_OF_FILE),
              ::testing::MatchesRegex("CFITSIO status 107 \\(tried to move past end of file\\)"));
}

// Copies the first `bytes` bytes of a real DESI file.
std::filesystem::path truncated_copy(const std::filesystem::path& from, const std::filesystem::path& to,
                                     std::uintmax_t bytes) {
  std::ifstream in(from, std::ios::binary);
  std::string data(bytes, '\0');
  in.read(data.data(), std::streamsize(bytes));
  std::ofstream(to, std::ios::binary).write(data.data(), in.gcount());
  return to;
}

TEST_F(DesiReaderErrors, TruncatedRealFile) {
  SPECVAE_REQUIRE_DESI_DATA();
  const auto real = testing::desi_data_dir() / "spectra-sv3-dark-26065.fits";
  const auto size = std::filesystem::file_size(real);
  // Cut inside the data of an image HDU, inside a header, and one byte short of the end.
  for (std::uintmax_t bytes : {size / 2, std::uintmax_t(2880 * 5 + 1000), size - 1}) {
    SCOPED_TRACE(bytes);
    const auto cut = truncated_copy(real, dir_ / "spectra-cut.fits", bytes);
    EXPECT_INPUT_ERROR(read_desi_spectra(cut), "spectra-cut.fits", "HDU", "truncated");
    EXPECT_INPUT_ERROR(count_desi_spectra(cut), "spectra-cut.fits", "truncated");
  }
  const auto rr = testing::desi_data_dir() / "redrock-test.fits";
  const auto cut = truncated_copy(rr, dir_ / "redrock-cut.fits", std::filesystem::file_size(rr) - 2880);
  EXPECT_INPUT_ERROR(read_redshifts(cut), "redrock-cut.fits", "truncated");
}

}  // namespace
}  // namespace specvae
