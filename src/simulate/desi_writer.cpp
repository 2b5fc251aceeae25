// CFITSIO writer for DESI coadd/redrock files (see desi_writer.hpp). Failures throw a
// runtime_error naming the file and the HDU; the partial "<path>.tmp" is removed.
#include "specvae/simulate/desi_writer.hpp"

#include <fitsio.h>
extern "C" {
#include <fitsio2.h>  // ffpbyt: raw byte writes (see write_resolution); the header has no C++ guard
}

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "specvae/core/error.hpp"
#include "specvae/core/staged_file.hpp"

namespace specvae::sim {
namespace {

class FitsFile {
 public:
  explicit FitsFile(std::filesystem::path final_path) : final_(std::move(final_path)) {
    // A temporary name of our own (core/staged_file.hpp), freed at once for CFITSIO, which
    // creates only new files; fits_create_diskfile takes the name as it is (no extended
    // file-name syntax), so "(", "[", "+" or "-" in a folder name are literal.
    tmp_ = reserve_temp_name(final_);
    std::filesystem::remove(tmp_);
    int status = 0;
    fits_create_diskfile(&f_, tmp_.c_str(), &status);
    check(status, "create");
  }
  ~FitsFile() {
    if (f_ != nullptr) {
      int status = 0;
      fits_close_file(f_, &status);
      std::error_code ec;
      std::filesystem::remove(tmp_, ec);
    }
  }
  fitsfile* get() { return f_; }
  void check(int status, const std::string& where) const {
    if (status == 0) return;
    char text[FLEN_STATUS] = {0};
    fits_get_errstatus(status, text);
    throw std::runtime_error(fmt::format("{}: {}: CFITSIO error {} ({})", tmp_.string(), where, status, text));
  }
  void commit() {
    int status = 0;
    fits_close_file(f_, &status);
    f_ = nullptr;
    check(status, "close");
    std::filesystem::rename(tmp_, final_);
  }

 private:
  std::filesystem::path final_, tmp_;
  fitsfile* f_ = nullptr;
};

void write_keys(FitsFile& f, const std::vector<FitsKey>& keys, const std::string& hdu) {
  int status = 0;
  for (const FitsKey& k : keys) {
    char* comment = k.comment.empty() ? nullptr : const_cast<char*>(k.comment.c_str());
    if (const auto* s = std::get_if<std::string>(&k.value))
      fits_write_key(f.get(), TSTRING, k.name.c_str(), const_cast<char*>(s->c_str()), comment, &status);
    else if (const auto* i = std::get_if<std::int64_t>(&k.value)) {
      LONGLONG v = *i;
      fits_write_key(f.get(), TLONGLONG, k.name.c_str(), &v, comment, &status);
    } else if (const auto* d = std::get_if<double>(&k.value)) {
      double v = *d;
      fits_write_key(f.get(), TDOUBLE, k.name.c_str(), &v, comment, &status);
    } else {
      int v = std::get<bool>(k.value) ? 1 : 0;
      fits_write_key(f.get(), TLOGICAL, k.name.c_str(), &v, comment, &status);
    }
    f.check(status, fmt::format("HDU {}: key {}", hdu, k.name));
  }
}

void write_primary(FitsFile& f, const std::vector<FitsKey>& keys) {
  int status = 0;
  fits_create_img(f.get(), BYTE_IMG, 0, nullptr, &status);
  f.check(status, "PRIMARY");
  write_keys(f, keys, "PRIMARY");
}

void write_table(FitsFile& f, const std::string& extname, const FitsTable& t) {
  const auto& cols = t.columns();
  std::vector<char*> ttype, tform;
  for (const auto& c : cols) {
    ttype.push_back(const_cast<char*>(c.name.c_str()));
    tform.push_back(const_cast<char*>(c.tform.c_str()));
  }
  int status = 0;
  fits_create_tbl(f.get(), BINARY_TBL, t.nrows(), static_cast<int>(cols.size()), ttype.data(), tform.data(), nullptr,
                  extname.c_str(), &status);
  f.check(status, fmt::format("HDU {}: create", extname));
  if (t.nrows() == 0) return;
  for (std::size_t ci = 0; ci < cols.size(); ++ci) {
    const auto& c = cols[ci];
    const int colnum = static_cast<int>(ci) + 1;
    if (c.datatype == TSTRING) {
      std::vector<char*> ptrs;
      for (const auto& s : c.strings) ptrs.push_back(const_cast<char*>(s.c_str()));
      fits_write_col(f.get(), TSTRING, colnum, 1, 1, t.nrows(), ptrs.data(), &status);
    } else {
      fits_write_col(f.get(), c.datatype, colnum, 1, 1, t.nrows() * c.repeat, const_cast<std::byte*>(c.bytes.data()),
                     &status);
    }
    f.check(status, fmt::format("HDU {}: column {}", extname, c.name));
  }
}

void write_image(FitsFile& f, const std::string& extname, int bitpix, int datatype, std::vector<long> naxes,
                 const void* data, const std::string& bunit) {
  int status = 0;
  fits_create_img(f.get(), bitpix, static_cast<int>(naxes.size()), naxes.data(), &status);
  f.check(status, fmt::format("HDU {}: create", extname));
  fits_write_key(f.get(), TSTRING, "EXTNAME", const_cast<char*>(extname.c_str()), "extension name", &status);
  if (!bunit.empty()) fits_write_key(f.get(), TSTRING, "BUNIT", const_cast<char*>(bunit.c_str()), nullptr, &status);
  f.check(status, fmt::format("HDU {}: keys", extname));
  LONGLONG n = 1;
  for (long a : naxes) n *= a;
  if (n > 0) fits_write_img(f.get(), datatype, 1, n, const_cast<void*>(data), &status);
  f.check(status, fmt::format("HDU {}: data", extname));
}

// Every row of X_RESOLUTION holds the same [ndiag, nwave] block (78% of a coadd's bytes).
// It is converted to FITS byte order once, replicated into a large buffer and written raw
// with CFITSIO's byte-level writer, which sends large buffers straight to the file: no
// per-call conversion and copying of the same numbers thousands of times.
void write_resolution(FitsFile& f, const CoaddCamera& cam, std::int64_t nspec) {
  const std::string extname = cam.band + "_RESOLUTION";
  const long nwave = static_cast<long>(cam.wave->size());
  int status = 0;
  std::vector<long> naxes{nwave, cam.ndiag, static_cast<long>(nspec)};
  fits_create_img(f.get(), FLOAT_IMG, 3, naxes.data(), &status);
  fits_write_key(f.get(), TSTRING, "EXTNAME", const_cast<char*>(extname.c_str()), "extension name", &status);
  // Close the header so the data start is known, then go there.
  fits_set_hdustruc(f.get(), &status);
  LONGLONG head = 0, data = 0, end = 0;
  fits_get_hduaddrll(f.get(), &head, &data, &end, &status);
  f.check(status, fmt::format("HDU {}: create", extname));
  if (nspec == 0) return;
  const std::size_t block = static_cast<std::size_t>(nwave) * static_cast<std::size_t>(cam.ndiag);
  std::vector<std::uint32_t> big(block);
  for (std::size_t i = 0; i < block; ++i) {
    std::uint32_t u;
    std::memcpy(&u, cam.resolution + i, 4);
    big[i] = __builtin_bswap32(u);  // FITS data are big-endian
  }
  const std::int64_t rows_per_write = std::min<std::int64_t>(nspec, 32);
  std::vector<std::uint32_t> buf(block * static_cast<std::size_t>(rows_per_write));
  for (std::int64_t r = 0; r < rows_per_write; ++r)
    std::memcpy(buf.data() + static_cast<std::size_t>(r) * block, big.data(), block * 4);
  ffmbyt(f.get(), data, IGNORE_EOF, &status);
  for (std::int64_t row = 0; row < nspec && status == 0; row += rows_per_write) {
    const std::int64_t nrow = std::min(rows_per_write, nspec - row);
    ffpbyt(f.get(), static_cast<LONGLONG>(nrow) * static_cast<LONGLONG>(block) * 4, buf.data(), &status);
  }
  f.check(status, fmt::format("HDU {}: data", extname));
}

}  // namespace

void FitsTable::add_numeric(const std::string& name, const std::string& tform, int datatype, std::int64_t repeat,
                            const void* data, std::size_t elem_size, std::size_t count) {
  SPECVAE_CHECK(static_cast<std::int64_t>(count) == nrows_ * repeat, "FITS column {}: {} values for {} rows x {}", name,
                count, nrows_, repeat);
  Column c;
  c.name = name;
  c.tform = tform;
  c.datatype = datatype;
  c.repeat = repeat;
  c.bytes.resize(count * elem_size);
  if (count > 0) std::memcpy(c.bytes.data(), data, count * elem_size);
  columns_.push_back(std::move(c));
}

void FitsTable::add_u8(const std::string& n, const std::vector<std::uint8_t>& v) { add_numeric(n, "B", TBYTE, 1, v.data(), 1, v.size()); }
void FitsTable::add_i16(const std::string& n, const std::vector<std::int16_t>& v) { add_numeric(n, "I", TSHORT, 1, v.data(), 2, v.size()); }
void FitsTable::add_i32(const std::string& n, const std::vector<std::int32_t>& v) { add_numeric(n, "J", TINT, 1, v.data(), 4, v.size()); }
void FitsTable::add_i64(const std::string& n, const std::vector<std::int64_t>& v) { add_numeric(n, "K", TLONGLONG, 1, v.data(), 8, v.size()); }
void FitsTable::add_f32(const std::string& n, const std::vector<float>& v) { add_numeric(n, "E", TFLOAT, 1, v.data(), 4, v.size()); }
void FitsTable::add_f64(const std::string& n, const std::vector<double>& v) { add_numeric(n, "D", TDOUBLE, 1, v.data(), 8, v.size()); }
void FitsTable::add_f64_vector(const std::string& n, int repeat, const std::vector<double>& v) {
  add_numeric(n, fmt::format("{}D", repeat), TDOUBLE, repeat, v.data(), 8, v.size());
}

void FitsTable::add_string(const std::string& name, int width, const std::vector<std::string>& v) {
  SPECVAE_CHECK(static_cast<std::int64_t>(v.size()) == nrows_, "FITS column {}: {} values for {} rows", name, v.size(), nrows_);
  for (const auto& s : v) SPECVAE_CHECK(static_cast<int>(s.size()) <= width, "FITS column {}: '{}' longer than {}", name, s, width);
  Column c;
  c.name = name;
  c.tform = fmt::format("{}A", width);
  c.datatype = TSTRING;
  c.strings = v;
  columns_.push_back(std::move(c));
}

void write_coadd(const std::filesystem::path& path, const CoaddContent& content) {
  FitsFile f(path);
  write_primary(f, content.primary);
  write_table(f, "FIBERMAP", content.fibermap);
  write_table(f, "EXP_FIBERMAP", content.exp_fibermap);
  const long nspec = static_cast<long>(content.nspec);
  for (const CoaddCamera& cam : content.cameras) {
    const long nwave = static_cast<long>(cam.wave->size());
    write_image(f, cam.band + "_WAVELENGTH", DOUBLE_IMG, TDOUBLE, {nwave}, cam.wave->data(), "Angstrom");
    // content.compress: one spectrum a tile, so a reader of a row range decompresses only
    // those rows. FLUX: RICE_1 on values quantised at 1/4 of the row's pixel-to-pixel noise,
    // dithered, exact zeros kept (SUBTRACTIVE_DITHER_2); IVAR: GZIP_2, lossless (quantising it
    // could turn a tiny ivar negative); MASK: RICE_1, lossless for integers.
    const auto compress_next = [&](int type, float quantize_level) {
      if (!content.compress) return;
      int status = 0;
      long tile[2] = {nwave, 1};
      fits_set_compression_type(f.get(), type, &status);
      fits_set_tile_dim(f.get(), 2, tile, &status);
      fits_set_quantize_level(f.get(), quantize_level, &status);
      fits_set_quantize_method(f.get(), SUBTRACTIVE_DITHER_2, &status);
      f.check(status, fmt::format("{}: set up tile compression", cam.band));
    };
    compress_next(RICE_1, 4.0f);
    write_image(f, cam.band + "_FLUX", FLOAT_IMG, TFLOAT, {nwave, nspec}, cam.flux, "10**-17 erg/(s cm2 Angstrom)");
    compress_next(GZIP_2, 0.0f);
    write_image(f, cam.band + "_IVAR", FLOAT_IMG, TFLOAT, {nwave, nspec}, cam.ivar, "10**+34 (s2 cm4 Angstrom2) / erg2");
    compress_next(RICE_1, 0.0f);
    write_image(f, cam.band + "_MASK", LONG_IMG, TINT, {nwave, nspec}, cam.mask, "");
    if (content.compress) {
      int status = 0;
      fits_set_compression_type(f.get(), 0, &status);  // 0, not NOCOMPRESS (-1, which CFITSIO takes as "compress")
      f.check(status, fmt::format("{}: end tile compression", cam.band));
    }
    if (content.resolution) write_resolution(f, cam, content.nspec);
  }
  write_table(f, "SCORES", content.scores);
  f.commit();
}

void write_redrock(const std::filesystem::path& path, const RedrockContent& content) {
  FitsFile f(path);
  write_primary(f, content.primary);
  write_table(f, "REDSHIFTS", content.redshifts);
  write_table(f, "FIBERMAP", content.fibermap);
  write_table(f, "EXP_FIBERMAP", content.exp_fibermap);
  f.commit();
}

}  // namespace specvae::sim
