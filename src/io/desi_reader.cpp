// Reads DESI coadd-*.fits / spectra-*.fits files: finds the cameras by their X_FLUX HDUs,
// checks every HDU's type and shape before reading, reads only the rows asked for (one CFITSIO
// call per HDU), then checks the values: finite, non-negative IVAR, finite FLUX where IVAR > 0,
// strictly increasing grids that line up across cameras as desispec's coadd_cameras requires.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "desi_internal.hpp"
#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/io/desi.hpp"
#include "specvae/io/fits_util.hpp"

namespace specvae {
namespace {

// desispec/coaddition.py coadd_cameras: camera grids must coincide within 1e-4 Å where they
// overlap, otherwise the cameras cannot be combined pixel by pixel.
constexpr double kGridTolerance = 1e-4;

constexpr int kBitpixFloat32 = -32;
constexpr int kBitpixFloat64 = -64;
constexpr int kBitpixInt32 = 32;
constexpr int kEquivInt32 = 32;   // LONG_IMG
constexpr int kEquivUint32 = 40;  // ULONG_IMG: BITPIX 32 with BZERO 2^31

struct CameraLayout {
  std::string prefix;  // upper case, as in the EXTNAMEs ("B")
  std::int64_t nwave = 0;
  bool has_mask = false;
};

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? " x " : "") + std::to_string(shape[i]);
  return shape.empty() ? "no axes" : s;
}

// The reader finds HDUs by EXTNAME, so one that appears twice would be read once and the
// other ignored (or, for a camera's FLUX, its camera counted twice): refuse such a file.
void check_unique_hdus(const fits::FitsFile& file) {
  const auto& names = file.hdu_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    const bool read_here = n == "FIBERMAP" || n.ends_with("_FLUX") || n.ends_with("_IVAR") || n.ends_with("_MASK") ||
                           n.ends_with("_WAVELENGTH");
    if (!read_here) continue;
    for (std::size_t j = i + 1; j < names.size(); ++j)
      if (names[j] == n)
        throw InputError(fmt::format("{}: HDU {} appears twice (HDUs {} and {}): the file is corrupt or was "
                                     "written by hand",
                                     file.path().string(), n, i + 1, j + 1));
  }
}

// Camera prefixes of every "<X>_FLUX" HDU, in file order.
std::vector<std::string> find_camera_prefixes(const fits::FitsFile& file) {
  check_unique_hdus(file);
  std::vector<std::string> prefixes;
  const std::string suffix = "_FLUX";
  for (const auto& name : file.hdu_names()) {
    if (name.size() > suffix.size() && name.ends_with(suffix))
      prefixes.push_back(name.substr(0, name.size() - suffix.size()));
  }
  if (prefixes.empty())
    throw InputError(fmt::format("{}: no <camera>_FLUX HDU (B_FLUX, R_FLUX, ...): not a DESI "
                                 "coadd or spectra file", file.path().string()));
  return prefixes;
}

// Checks a FLUX/IVAR/MASK image is [nspec, nwave] of the expected pixel type; returns nspec.
std::int64_t check_spectra_image(fits::FitsFile& file, const std::string& hdu, std::int64_t nwave,
                                 bool is_mask) {
  file.move_to(hdu);
  const fits::ImageInfo info = file.image_info();
  if (is_mask) {
    if (info.bitpix != kBitpixInt32 ||
        (info.equiv_bitpix != kEquivInt32 && info.equiv_bitpix != kEquivUint32))
      file.fail(fmt::format("expected 32-bit integers (BITPIX 32, BZERO 0 or 2^31), found BITPIX {} "
                            "(equivalent type {})", info.bitpix, info.equiv_bitpix));
  } else if (info.bitpix != kBitpixFloat32) {
    file.fail(fmt::format("expected float32 pixels (BITPIX -32), found BITPIX {}", info.bitpix));
  }
  if (info.shape.size() != 2)
    file.fail(fmt::format("expected a 2-d image [nspec, nwave], found shape {}",
                          shape_string(info.shape)));
  if (info.shape[0] != nwave)
    file.fail(fmt::format("rows have {} pixels but the wavelength grid has {}", info.shape[0],
                          nwave));
  return info.shape[1];
}

std::int64_t check_wavelength_image(fits::FitsFile& file, const std::string& hdu) {
  file.move_to(hdu);
  const fits::ImageInfo info = file.image_info();
  if (info.bitpix != kBitpixFloat64)
    file.fail(fmt::format("expected float64 wavelengths (BITPIX -64), found BITPIX {}",
                          info.bitpix));
  if (info.shape.size() != 1 || info.shape[0] < 2)
    file.fail(fmt::format("expected a 1-d grid of at least 2 wavelengths, found shape {}",
                          shape_string(info.shape)));
  // DESI writes BUNIT = 'Angstrom' (some older files have no BUNIT); a grid in other units
  // would put the camera somewhere else entirely.
  if (const auto unit = file.read_key_string("BUNIT")) {
    const std::string u = lower(*unit);
    if (!u.empty() && u != "angstrom" && u != "angstroms" && u != "aa" && u != "a")
      file.fail(fmt::format("wavelengths in '{}'; DESI grids are in Angstrom", *unit));
  }
  return info.shape[0];
}

// Checks every camera's HDUs and row counts; returns the layouts and the file's row count.
std::vector<CameraLayout> check_layout(fits::FitsFile& file, std::int64_t& file_nspec) {
  std::vector<CameraLayout> cameras;
  std::string first_flux;
  for (const auto& prefix : find_camera_prefixes(file)) {
    CameraLayout cam;
    cam.prefix = prefix;
    cam.nwave = check_wavelength_image(file, prefix + "_WAVELENGTH");
    const std::int64_t rows = check_spectra_image(file, prefix + "_FLUX", cam.nwave, false);
    if (first_flux.empty()) {
      first_flux = prefix + "_FLUX";
      file_nspec = rows;
    } else if (rows != file_nspec) {
      file.fail(fmt::format("has {} spectra but {} has {}", rows, first_flux, file_nspec));
    }
    auto same_rows = [&](const std::string& hdu, bool is_mask) {
      const std::int64_t n = check_spectra_image(file, hdu, cam.nwave, is_mask);
      if (n != file_nspec)
        file.fail(fmt::format("has {} spectra but {} has {}", n, first_flux, file_nspec));
    };
    same_rows(prefix + "_IVAR", false);
    cam.has_mask = file.has_hdu(prefix + "_MASK");
    if (cam.has_mask) same_rows(prefix + "_MASK", true);
    cameras.push_back(cam);
  }
  return cameras;
}

void check_wavelengths(fits::FitsFile& file, const std::string& hdu, const std::vector<double>& w) {
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i])) {
      file.move_to(hdu);
      file.fail(fmt::format("pixel {} is {} (wavelengths must be finite)", i, w[i]));
    }
    if (i > 0 && !(w[i] > w[i - 1])) {
      file.move_to(hdu);
      file.fail(fmt::format("grid is not strictly increasing: pixel {} is {} Å, pixel {} is {} Å",
                            i - 1, w[i - 1], i, w[i]));
    }
  }
}

// IVAR finite and >= 0 everywhere; FLUX finite where IVAR > 0. Non-finite FLUX at IVAR = 0
// carries no information and is set to 0 so that nothing downstream sees a NaN.
void check_values(fits::FitsFile& file, const std::string& prefix, CameraData& cam,
                  std::int64_t first_row, std::int64_t nspec) {
  const std::size_t nwave = cam.nwave();
  std::int64_t cleared = 0;
  for (std::int64_t r = 0; r < nspec; ++r) {
    float* flux = cam.flux.data() + std::size_t(r) * nwave;
    const float* ivar = cam.ivar.data() + std::size_t(r) * nwave;
    for (std::size_t p = 0; p < nwave; ++p) {
      if (!std::isfinite(ivar[p]) || ivar[p] < 0) [[unlikely]] {
        file.move_to(prefix + "_IVAR");
        file.fail(fmt::format("row {} pixel {} ({:.2f} Å): IVAR is {} (must be finite and >= 0)",
                              first_row + r, p, cam.wave[p], ivar[p]));
      }
      if (!std::isfinite(flux[p])) [[unlikely]] {
        if (ivar[p] > 0) {
          file.move_to(prefix + "_FLUX");
          file.fail(fmt::format("row {} pixel {} ({:.2f} Å): FLUX is {} where IVAR = {} > 0",
                                first_row + r, p, cam.wave[p], flux[p], ivar[p]));
        }
        flux[p] = 0.0f;
        ++cleared;
      }
    }
  }
  if (cleared > 0)
    log::debug("{}: {}_FLUX: {} non-finite pixels with IVAR = 0 set to 0", file.path().string(),
               prefix, cleared);
}

double mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

// desispec coadd_cameras: the combined grid is the first camera's grid plus, for each later
// camera, its pixels beyond the grid so far; every camera pixel must then lie within 1e-4 Å
// of a combined-grid pixel. (desispec's own check takes sqrt(max(signed difference)), which
// misses pixels that sit below the grid; the absolute difference is used here.)
void check_camera_alignment(const std::filesystem::path& path, const std::vector<CameraData>& cams) {
  std::vector<double> grid = cams.front().wave;
  std::string before = cams.front().name;
  for (std::size_t k = 1; k < cams.size(); ++k) {
    for (std::size_t i = 0; i < cams[k].wave.size(); ++i) {
      const double w = cams[k].wave[i];
      auto it = std::lower_bound(grid.begin(), grid.end(), w);
      double d = std::numeric_limits<double>::infinity();
      if (it != grid.end()) d = std::min(d, *it - w);
      if (it != grid.begin()) d = std::min(d, w - *(it - 1));
      const bool extends = w > grid.back() + kGridTolerance;
      if (!extends && d > kGridTolerance)
        throw InputError(fmt::format(
            "{}: HDU {}_WAVELENGTH: pixel {} ({:.6f} Å) is {:.3g} Å from the nearest pixel of "
            "camera(s) {}; overlapping cameras must share one grid within {} Å (desispec "
            "coadd_cameras)", path.string(), upper(cams[k].name), i, w, d, before, kGridTolerance));
    }
    for (double w : cams[k].wave)
      if (w > grid.back() + kGridTolerance) grid.push_back(w);
    before += "+" + cams[k].name;
  }
}

}  // namespace

void check_coadd_targetids(const std::filesystem::path& path) {
  fits::FitsFile file(path);
  if (!file.has_hdu("FIBERMAP")) return;
  file.move_to("FIBERMAP");
  // Exposure-level spectra files (FIBERSTATUS, no COADD_FIBERSTATUS) list a target once per
  // exposure, and those rows do share a redshift.
  if (!file.find_column("COADD_FIBERSTATUS")) return;
  const auto targetid = file.require_column("TARGETID", fits::ColType::int64, "K (int64)");
  const std::int64_t n = file.table_rows();
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
  if (n > 0) file.read_column(targetid, 0, n, ids.data());
  std::vector<std::int64_t> order(ids.size());
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return ids[a] < ids[b]; });
  for (std::size_t k = 1; k < order.size(); ++k)
    if (ids[order[k]] == ids[order[k - 1]])
      file.fail(fmt::format("rows {} and {} have the same TARGETID {}; a coadd has one row per target, so their "
                            "redshifts cannot be told apart",
                            order[k - 1], order[k], ids[order[k]]));
}

std::int64_t count_desi_spectra(const std::filesystem::path& path) {
  fits::FitsFile file(path);
  std::int64_t nspec = 0;
  check_layout(file, nspec);
  return nspec;
}

DesiSpectra read_desi_spectra(const std::filesystem::path& path, std::int64_t first_row,
                              std::int64_t n_rows) {
  fits::FitsFile file(path);
  DesiSpectra out;
  out.path = path;
  out.survey = file.read_key_string("SURVEY").value_or("");
  out.program = file.read_key_string("PROGRAM").value_or("");
  if (const auto hpx = file.read_key_string("HPXPIXEL")) {
    std::int64_t v = -1;
    const auto [end, ec] = std::from_chars(hpx->data(), hpx->data() + hpx->size(), v);
    if (ec != std::errc() || end != hpx->data() + hpx->size() || v < 0 || v > INT32_MAX)
      throw InputError(fmt::format("{}: PRIMARY header: HPXPIXEL = '{}' is not a HEALPix pixel number", path.string(), *hpx));
    out.healpix = static_cast<std::int32_t>(v);
  }

  // Every header is checked before any pixel is read, so a bad file fails fast.
  const std::vector<CameraLayout> layout = check_layout(file, out.file_nspec);
  if (first_row < 0 || first_row > out.file_nspec)
    throw InputError(fmt::format("{}: first row {} is outside the file's {} spectra", path.string(),
                                 first_row, out.file_nspec));
  if (n_rows < 0) n_rows = out.file_nspec - first_row;
  if (first_row + n_rows > out.file_nspec)
    throw InputError(fmt::format("{}: rows {}..{} asked for, but the file has {} spectra",
                                 path.string(), first_row, first_row + n_rows - 1, out.file_nspec));
  out.first_row = first_row;
  out.nspec = n_rows;
  out.has_fibermap = file.has_hdu("FIBERMAP");

  std::vector<std::string> prefixes;
  for (const auto& cam_layout : layout) {
    CameraData cam;
    cam.name = lower(cam_layout.prefix);
    cam.has_mask = cam_layout.has_mask;
    const std::size_t nwave = std::size_t(cam_layout.nwave);
    const std::size_t npix = std::size_t(n_rows) * nwave;
    const std::int64_t first_pixel = first_row * cam_layout.nwave;

    cam.wave.resize(nwave);
    file.move_to(cam_layout.prefix + "_WAVELENGTH");
    file.read_image(0, cam_layout.nwave, cam.wave.data());
    check_wavelengths(file, cam_layout.prefix + "_WAVELENGTH", cam.wave);

    cam.flux.resize(npix);
    file.move_to(cam_layout.prefix + "_FLUX");
    file.read_image(first_pixel, std::int64_t(npix), cam.flux.data());
    cam.ivar.resize(npix);
    file.move_to(cam_layout.prefix + "_IVAR");
    file.read_image(first_pixel, std::int64_t(npix), cam.ivar.data());
    cam.mask.assign(npix, 0);
    if (cam.has_mask) {
      file.move_to(cam_layout.prefix + "_MASK");
      file.read_image_int32(first_pixel, std::int64_t(npix), cam.mask.data());
    }
    check_values(file, cam_layout.prefix, cam, first_row, n_rows);
    out.cameras.push_back(std::move(cam));
  }

  std::stable_sort(out.cameras.begin(), out.cameras.end(),
                   [](const CameraData& a, const CameraData& b) { return mean(a.wave) < mean(b.wave); });
  check_camera_alignment(path, out.cameras);

  if (out.has_fibermap)
    out.fibermap = desi_detail::read_fibermap(file, out.file_nspec, first_row, n_rows);
  return out;
}

}  // namespace specvae
