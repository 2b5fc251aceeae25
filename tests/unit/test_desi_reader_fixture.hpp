// Writes small DESI-format coadd and redrock/zcatalog files with CFITSIO for the reader tests,
// with knobs to break exactly one thing (a type, a shape, a grid, a value) per test.
#pragma once

#include <fitsio.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace specvae::testing {

struct MiniCamera {
  std::string name;  // EXTNAME prefix, e.g. "B"
  std::vector<double> wave;
  std::vector<float> flux, ivar;       // [nspec * nwave]
  std::vector<std::uint32_t> mask;     // [nspec * nwave]
  int wave_bitpix = DOUBLE_IMG, flux_bitpix = FLOAT_IMG, ivar_bitpix = FLOAT_IMG;
  int mask_bitpix = ULONG_IMG;         // BITPIX 32 + BZERO 2^31, as astropy writes uint32
  long flux_width = -1;                // NAXIS1 of FLUX/IVAR/MASK; -1: wave.size()
  long ivar_rows = -1;                 // NAXIS2 of IVAR; -1: nspec
  bool write_ivar = true, write_mask = true, compress_mask = false;
  std::string wave_bunit;              // BUNIT of the WAVELENGTH HDU when not empty
};

struct MiniCoadd {
  long nspec = 3;
  std::vector<MiniCamera> cameras;
  bool write_fibermap = true;
  long fibermap_rows = -1;             // -1: nspec
  std::string targetid_tform = "K";
  std::vector<std::int64_t> targetid;  // [fibermap rows]
  std::string survey = "main", program = "bright";
  bool repeat_first_flux = false;      // write the first camera's FLUX HDU a second time, last
};

// Grid of n pixels from `start` in 0.8 Å steps, computed as desispec does (start + i * step).
inline std::vector<double> desi_grid(double start, int n) {
  std::vector<double> w(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) w[std::size_t(i)] = start + 0.8 * i;
  return w;
}

// Two overlapping cameras on one 0.8 Å grid (b: 3600-3631.2 Å, r: 3624-3655.2 Å), flux and
// ivar that differ by row and pixel, and a few mask bits (bit 31 too, to test uint32).
inline MiniCoadd default_coadd(long nspec = 3) {
  MiniCoadd c;
  c.nspec = nspec;
  const double starts[] = {3600.0, 3624.0};
  const char* names[] = {"B", "R"};
  for (int k = 0; k < 2; ++k) {
    MiniCamera cam;
    cam.name = names[k];
    cam.wave = desi_grid(starts[k], 40);
    const std::size_t npix = std::size_t(nspec) * cam.wave.size();
    cam.flux.resize(npix);
    cam.ivar.resize(npix);
    cam.mask.assign(npix, 0);
    for (std::size_t i = 0; i < npix; ++i) {
      cam.flux[i] = float(k + 1) + 0.01f * float(i);
      cam.ivar[i] = 2.0f + 0.5f * float(i % 7);
    }
    cam.mask[3] = 4;             // COSMIC
    cam.mask[npix - 1] = 0x80000001u;  // bit 31 survives the BZERO round trip
    c.cameras.push_back(cam);
  }
  for (long i = 0; i < nspec; ++i) c.targetid.push_back(39627866878511337 + i);
  return c;
}

namespace detail {
inline void fits_ok(int status, const char* what) {
  if (status != 0) {
    char text[FLEN_STATUS];
    fits_get_errstatus(status, text);
    throw std::runtime_error(std::string("test fixture: ") + what + ": " + text);
  }
}

template <typename T>
void write_image(fitsfile* f, const std::string& extname, int bitpix, int datatype,
                 std::vector<long> naxes, std::vector<T> data) {
  int st = 0;
  long total = 1;
  for (long n : naxes) total *= n;
  data.resize(std::size_t(total), T{});
  fits_create_img(f, bitpix, int(naxes.size()), naxes.data(), &st);
  fits_write_key(f, TSTRING, "EXTNAME", const_cast<char*>(extname.c_str()), nullptr, &st);
  if (total > 0) fits_write_img(f, datatype, 1, total, data.data(), &st);
  fits_ok(st, extname.c_str());
}
}  // namespace detail

inline void write_coadd(const MiniCoadd& c, const std::filesystem::path& path) {
  int st = 0;
  fitsfile* f = nullptr;
  fits_create_diskfile(&f, path.c_str(), &st);
  fits_create_img(f, 8, 0, nullptr, &st);
  fits_write_key(f, TSTRING, "SURVEY", const_cast<char*>(c.survey.c_str()), nullptr, &st);
  fits_write_key(f, TSTRING, "PROGRAM", const_cast<char*>(c.program.c_str()), nullptr, &st);
  detail::fits_ok(st, "primary");

  if (c.write_fibermap) {
    const long rows = c.fibermap_rows < 0 ? c.nspec : c.fibermap_rows;
    char* ttype[] = {const_cast<char*>("TARGETID"), const_cast<char*>("TARGET_RA"),
                     const_cast<char*>("TARGET_DEC"), const_cast<char*>("COADD_FIBERSTATUS"),
                     const_cast<char*>("OBJTYPE")};
    std::string tid_form = c.targetid_tform;
    char* tform[] = {tid_form.data(), const_cast<char*>("D"), const_cast<char*>("D"),
                     const_cast<char*>("J"), const_cast<char*>("3A")};
    fits_create_tbl(f, BINARY_TBL, rows, 5, ttype, tform, nullptr, "FIBERMAP", &st);
    std::vector<long long> tid(static_cast<std::size_t>(rows));
    std::vector<double> ra(static_cast<std::size_t>(rows)), dec(static_cast<std::size_t>(rows));
    std::vector<int> status(static_cast<std::size_t>(rows), 0);
    std::vector<std::string> obj(static_cast<std::size_t>(rows), "TGT");
    std::vector<char*> objp;
    for (long i = 0; i < rows; ++i) {
      tid[std::size_t(i)] = i < long(c.targetid.size()) ? c.targetid[std::size_t(i)] : 1000 + i;
      ra[std::size_t(i)] = 150.0 + 0.1 * double(i);
      dec[std::size_t(i)] = 2.0 - 0.1 * double(i);
      objp.push_back(obj[std::size_t(i)].data());
    }
    if (rows > 0) {
      fits_write_col(f, TLONGLONG, 1, 1, 1, rows, tid.data(), &st);
      fits_write_col(f, TDOUBLE, 2, 1, 1, rows, ra.data(), &st);
      fits_write_col(f, TDOUBLE, 3, 1, 1, rows, dec.data(), &st);
      fits_write_col(f, TINT, 4, 1, 1, rows, status.data(), &st);
      fits_write_col(f, TSTRING, 5, 1, 1, rows, objp.data(), &st);
    }
    detail::fits_ok(st, "FIBERMAP");
  }

  for (const MiniCamera& cam : c.cameras) {
    const long nwave = long(cam.wave.size());
    const long width = cam.flux_width < 0 ? nwave : cam.flux_width;
    detail::write_image(f, cam.name + "_WAVELENGTH", cam.wave_bitpix, TDOUBLE, {nwave}, cam.wave);
    if (!cam.wave_bunit.empty())
      fits_write_key(f, TSTRING, "BUNIT", const_cast<char*>(cam.wave_bunit.c_str()), nullptr, &st);
    detail::write_image(f, cam.name + "_FLUX", cam.flux_bitpix, TFLOAT, {width, c.nspec}, cam.flux);
    if (cam.write_ivar)
      detail::write_image(f, cam.name + "_IVAR", cam.ivar_bitpix, TFLOAT,
                          {width, cam.ivar_rows < 0 ? c.nspec : cam.ivar_rows}, cam.ivar);
    if (cam.write_mask) {
      if (cam.compress_mask) fits_set_compression_type(f, RICE_1, &st);
      detail::write_image(f, cam.name + "_MASK", cam.mask_bitpix, TUINT, {width, c.nspec}, cam.mask);
      if (cam.compress_mask) fits_set_compression_type(f, 0, &st);
    }
  }
  if (c.repeat_first_flux && !c.cameras.empty()) {
    const MiniCamera& cam = c.cameras.front();
    const long width = cam.flux_width < 0 ? long(cam.wave.size()) : cam.flux_width;
    detail::write_image(f, cam.name + "_FLUX", cam.flux_bitpix, TFLOAT, {width, c.nspec}, cam.flux);
  }
  fits_close_file(f, &st);
  detail::fits_ok(st, "close");
}

struct MiniRedshifts {
  std::string extname = "REDSHIFTS";
  std::vector<std::int64_t> targetid;
  std::vector<double> z;
  std::string z_tform = "D";
  std::vector<std::string> survey, program;  // written as columns when not empty (zcatalog)
};

inline void write_redshifts(const MiniRedshifts& r, const std::filesystem::path& path) {
  int st = 0;
  fitsfile* f = nullptr;
  fits_create_diskfile(&f, path.c_str(), &st);
  fits_create_img(f, 8, 0, nullptr, &st);
  std::vector<std::string> names = {"TARGETID", "Z", "ZERR", "ZWARN", "SPECTYPE", "SUBTYPE", "DELTACHI2"};
  std::vector<std::string> forms = {"K", r.z_tform, "D", "K", "6A", "20A", "D"};
  if (!r.survey.empty()) {
    names.insert(names.end(), {"SURVEY", "PROGRAM"});
    forms.insert(forms.end(), {"7A", "6A"});
  }
  std::vector<char*> tt, tf;
  for (auto& s : names) tt.push_back(s.data());
  for (auto& s : forms) tf.push_back(s.data());
  const long n = long(r.targetid.size());
  fits_create_tbl(f, BINARY_TBL, n, int(tt.size()), tt.data(), tf.data(), nullptr,
                  r.extname.c_str(), &st);
  if (n > 0) {
    std::vector<long long> tid(r.targetid.begin(), r.targetid.end()), zwarn(static_cast<std::size_t>(n), 0);
    std::vector<double> z = r.z, zerr(static_cast<std::size_t>(n), 1e-5), dchi2(static_cast<std::size_t>(n), 100.0);
    std::vector<std::string> spectype(static_cast<std::size_t>(n), "GALAXY"), subtype(static_cast<std::size_t>(n), "");
    std::vector<char*> sp, su;
    for (auto& s : spectype) sp.push_back(s.data());
    for (auto& s : subtype) su.push_back(s.data());
    fits_write_col(f, TLONGLONG, 1, 1, 1, n, tid.data(), &st);
    fits_write_col(f, TDOUBLE, 2, 1, 1, n, z.data(), &st);
    fits_write_col(f, TDOUBLE, 3, 1, 1, n, zerr.data(), &st);
    fits_write_col(f, TLONGLONG, 4, 1, 1, n, zwarn.data(), &st);
    fits_write_col(f, TSTRING, 5, 1, 1, n, sp.data(), &st);
    fits_write_col(f, TSTRING, 6, 1, 1, n, su.data(), &st);
    fits_write_col(f, TDOUBLE, 7, 1, 1, n, dchi2.data(), &st);
    if (!r.survey.empty()) {
      std::vector<std::string> sv = r.survey, pg = r.program;
      std::vector<char*> svp, pgp;
      for (auto& s : sv) svp.push_back(s.data());
      for (auto& s : pg) pgp.push_back(s.data());
      fits_write_col(f, TSTRING, 8, 1, 1, n, svp.data(), &st);
      fits_write_col(f, TSTRING, 9, 1, 1, n, pgp.data(), &st);
    }
  }
  fits_close_file(f, &st);
  detail::fits_ok(st, "redshifts");
}

}  // namespace specvae::testing
