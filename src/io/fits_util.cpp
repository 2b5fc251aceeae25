// CFITSIO wrapper for reading user files: open + HDU index + truncation check, type-checked
// column and image block reads, and CFITSIO status -> InputError with file/HDU context.
// Also defines specvae::detail::fits_error_string for SPECVAE_FITS_CHECK.
#include "specvae/io/fits_util.hpp"

#include <fitsio.h>

#include <algorithm>
#include <cctype>
#include <system_error>

#include "specvae/core/error.hpp"

namespace specvae {
namespace detail {

std::string fits_error_string(int status) {
  char text[FLEN_STATUS] = {0};
  fits_get_errstatus(status, text);
  std::string out = fmt::format("CFITSIO status {} ({})", status, text);
  // The error stack holds the detail (which keyword, which byte); drain it so that the next
  // failure does not report stale messages.
  char msg[FLEN_ERRMSG] = {0};
  std::string stack;
  while (fits_read_errmsg(msg) != 0) {
    if (!stack.empty()) stack += "; ";
    stack += msg;
  }
  if (!stack.empty()) out += ": " + stack;
  return out;
}

}  // namespace detail

namespace fits {
namespace {

fitsfile* as_fits(void* handle) { return static_cast<fitsfile*>(handle); }

static_assert(int(ColType::logical) == TLOGICAL && int(ColType::string) == TSTRING &&
              int(ColType::int16) == TSHORT && int(ColType::int32) == TLONG &&
              int(ColType::float32) == TFLOAT && int(ColType::int64) == TLONGLONG &&
              int(ColType::float64) == TDOUBLE);

std::string rtrim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Readable name of a CFITSIO column type code, for messages.
std::string type_name(int typecode) {
  switch (typecode) {
    case TLOGICAL: return "logical (L)";
    case TBYTE: return "uint8 (B)";
    case TSBYTE: return "int8";
    case TSTRING: return "characters (A)";
    case TSHORT: return "int16 (I)";
    case TUSHORT: return "uint16";
    case TLONG: return "int32 (J)";
    case TULONG: return "uint32";
    case TFLOAT: return "float32 (E)";
    case TLONGLONG: return "int64 (K)";
    case TULONGLONG: return "uint64";
    case TDOUBLE: return "float64 (D)";
    default: return fmt::format("CFITSIO type {}", typecode);
  }
}

}  // namespace

FitsFile::FitsFile(std::filesystem::path path) : path_(std::move(path)) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path_, ec))
    throw InputError(fmt::format("{}: no such file", path_.string()));
  const auto file_size = std::int64_t(std::filesystem::file_size(path_, ec));

  int status = 0;
  // fits_open_diskfile: no extended file-name syntax, so brackets in names are literal.
  fitsfile* opened = nullptr;
  if (fits_open_diskfile(&opened, path_.c_str(), READONLY, &status) != 0) {
    throw InputError(fmt::format("{}: cannot open as a FITS file: {}", path_.string(),
                                 detail::fits_error_string(status)));
  }
  handle_ = opened;
  try {
    index_hdus(file_size);
  } catch (...) {
    fits_close_file(opened, &status);  // the destructor does not run for a failed constructor
    throw;
  }
}

void FitsFile::index_hdus(std::int64_t file_size) {
  int status = 0;

  // Index every HDU by EXTNAME. Moving through the headers reads only the headers.
  for (int hdu = 1;; ++hdu) {
    int type = 0;
    if (fits_movabs_hdu(as_fits(handle_), hdu, &type, &status) != 0) {
      if (status == END_OF_FILE && hdu > 1) {
        status = 0;
        fits_clear_errmsg();
        break;
      }
      current_ = fmt::format("#{}", hdu);
      fail("cannot read the header (file truncated or corrupt)", status);
    }
    char value[FLEN_VALUE] = {0};
    std::string name;
    if (fits_read_key(as_fits(handle_), TSTRING, "EXTNAME", value, nullptr, &status) == 0) {
      name = upper(rtrim(value));
    } else {
      status = 0;
      fits_clear_errmsg();
      name = hdu == 1 ? "PRIMARY" : fmt::format("#{}", hdu);
    }
    names_.push_back(name);
    index_.try_emplace(name, hdu);  // the first HDU of a name wins, as in astropy
  }

  // A file cut short still opens: its last HDU's data (or a later header) is missing.
  LONGLONG head = 0, data = 0, end = 0;
  check(fits_get_hduaddrll(as_fits(handle_), &head, &data, &end, &status), "cannot locate the HDU");
  current_ = names_.back();
  if (end > file_size)
    fail(fmt::format("file is truncated: this HDU's data ends at byte {} but the file has {} bytes",
                     end, file_size));
  if (end < file_size)
    fail(fmt::format("{} unreadable bytes after this last HDU (an incomplete header: file "
                     "truncated or corrupt?)", file_size - end));
  move_to_primary();
}

FitsFile::~FitsFile() {
  if (handle_ != nullptr) {
    int status = 0;
    fits_close_file(as_fits(handle_), &status);
  }
}

bool FitsFile::has_hdu(std::string_view extname) const {
  return index_.find(upper(extname)) != index_.end();
}

void FitsFile::move_to(std::string_view extname) {
  auto it = index_.find(upper(extname));
  if (it == index_.end()) {
    std::string have;
    for (const auto& n : names_) have += (have.empty() ? "" : ", ") + n;
    throw InputError(fmt::format("{}: missing HDU {} (the file has: {})", path_.string(),
                                 upper(extname), have));
  }
  int status = 0, type = 0;
  current_ = it->first;
  check(fits_movabs_hdu(as_fits(handle_), it->second, &type, &status), "cannot move to this HDU");
}

void FitsFile::move_to_primary() {
  int status = 0, type = 0;
  current_ = names_.front();
  check(fits_movabs_hdu(as_fits(handle_), 1, &type, &status), "cannot move to the primary HDU");
}

ImageInfo FitsFile::image_info() {
  int status = 0, type = 0;
  check(fits_get_hdu_type(as_fits(handle_), &type, &status), "cannot read the HDU type");
  if (type != IMAGE_HDU && !fits_is_compressed_image(as_fits(handle_), &status))
    fail("expected an image HDU, found a table");
  ImageInfo info;
  info.compressed = fits_is_compressed_image(as_fits(handle_), &status) != 0;
  int naxis = 0;
  LONGLONG naxes[9] = {0};
  check(fits_get_img_paramll(as_fits(handle_), 9, &info.bitpix, &naxis, naxes, &status),
        "cannot read the image shape");
  check(fits_get_img_equivtype(as_fits(handle_), &info.equiv_bitpix, &status), "cannot read BZERO/BSCALE");
  info.shape.assign(naxes, naxes + std::min(naxis, 9));
  return info;
}

std::int64_t FitsFile::table_rows() {
  int status = 0, type = 0;
  check(fits_get_hdu_type(as_fits(handle_), &type, &status), "cannot read the HDU type");
  if (type != BINARY_TBL) fail("expected a binary table HDU");
  LONGLONG rows = 0;
  check(fits_get_num_rowsll(as_fits(handle_), &rows, &status), "cannot read NAXIS2");
  return rows;
}

std::optional<ColumnInfo> FitsFile::find_column(std::string_view name) {
  int status = 0, colnum = 0;
  std::string templ(name);  // CFITSIO takes a non-const template
  if (fits_get_colnum(as_fits(handle_), CASEINSEN, templ.data(), &colnum, &status) != 0) {
    if (status == COL_NOT_FOUND) {
      fits_clear_errmsg();
      return std::nullopt;
    }
    fail(fmt::format("cannot look up column {}", name), status);
  }
  ColumnInfo col;
  col.name = std::string(name);
  col.number = colnum;
  LONGLONG repeat = 0, width = 0;
  check(fits_get_eqcoltypell(as_fits(handle_), colnum, &col.typecode, &repeat, &width, &status),
        fmt::format("cannot read the type of column {}", name));
  col.repeat = repeat;
  col.width = width;
  char tform[FLEN_VALUE] = {0};
  std::string key = fmt::format("TFORM{}", colnum);
  check(fits_read_key(as_fits(handle_), TSTRING, key.c_str(), tform, nullptr, &status),
        fmt::format("cannot read {} of column {}", key, name));
  col.tform = rtrim(tform);
  return col;
}

ColumnInfo FitsFile::require_column(std::string_view name, ColType type,
                                    std::string_view expected_tform) {
  auto col = find_column(name);
  if (!col) fail(fmt::format("missing column {}", name));
  check_column_type(*col, type, expected_tform);
  return *col;
}

void FitsFile::check_column_type(const ColumnInfo& col, ColType type,
                                 std::string_view expected_tform) {
  bool ok = col.typecode == int(type);
  if (type != ColType::string) ok = ok && col.repeat == 1;  // scalar columns only
  if (!ok)
    fail(fmt::format("column {} has TFORM {} ({} after TZERO/TSCAL, {} per row); DESI writes {}",
                     col.name, col.tform, type_name(col.typecode), col.repeat, expected_tform));
}

void FitsFile::read_column(const ColumnInfo& col, std::int64_t first_row, std::int64_t n,
                           std::int64_t* out) {
  if (n <= 0) return;
  int status = 0, anynul = 0;
  static_assert(sizeof(LONGLONG) == sizeof(std::int64_t));
  check(fits_read_col(as_fits(handle_), TLONGLONG, col.number, first_row + 1, 1, n, nullptr, out, &anynul,
                      &status),
        fmt::format("cannot read column {} rows {}..{}", col.name, first_row, first_row + n - 1));
}

void FitsFile::read_column(const ColumnInfo& col, std::int64_t first_row, std::int64_t n,
                           std::int32_t* out) {
  if (n <= 0) return;
  int status = 0, anynul = 0;
  static_assert(sizeof(int) == sizeof(std::int32_t));
  check(fits_read_col(as_fits(handle_), TINT, col.number, first_row + 1, 1, n, nullptr, out, &anynul, &status),
        fmt::format("cannot read column {} rows {}..{}", col.name, first_row, first_row + n - 1));
}

void FitsFile::read_column(const ColumnInfo& col, std::int64_t first_row, std::int64_t n,
                           double* out) {
  if (n <= 0) return;
  int status = 0, anynul = 0;
  check(fits_read_col(as_fits(handle_), TDOUBLE, col.number, first_row + 1, 1, n, nullptr, out, &anynul,
                      &status),
        fmt::format("cannot read column {} rows {}..{}", col.name, first_row, first_row + n - 1));
}

void FitsFile::read_column_logical(const ColumnInfo& col, std::int64_t first_row, std::int64_t n,
                                   char* out) {
  if (n <= 0) return;
  int status = 0, anynul = 0;
  check(fits_read_col(as_fits(handle_), TLOGICAL, col.number, first_row + 1, 1, n, nullptr, out, &anynul,
                      &status),
        fmt::format("cannot read column {} rows {}..{}", col.name, first_row, first_row + n - 1));
}

void FitsFile::read_column(const ColumnInfo& col, std::int64_t first_row, std::int64_t n,
                           std::vector<std::string>& out) {
  out.clear();
  if (n <= 0) return;
  // One contiguous buffer for the whole block; CFITSIO wants one char* per row.
  const std::size_t stride = std::size_t(std::max<std::int64_t>(col.repeat, 1)) + 1;
  std::vector<char> buffer(std::size_t(n) * stride, '\0');
  std::vector<char*> rows(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) rows[std::size_t(i)] = buffer.data() + std::size_t(i) * stride;
  int status = 0, anynul = 0;
  char empty[] = "";
  check(fits_read_col(as_fits(handle_), TSTRING, col.number, first_row + 1, 1, n, empty, rows.data(), &anynul,
                      &status),
        fmt::format("cannot read column {} rows {}..{}", col.name, first_row, first_row + n - 1));
  out.reserve(std::size_t(n));
  for (char* r : rows) out.push_back(rtrim(r));
}

void FitsFile::read_image_typed(int datatype, std::int64_t first, std::int64_t n, void* out) {
  if (n <= 0) return;
  int status = 0, anynul = 0;
  check(fits_read_img(as_fits(handle_), datatype, first + 1, n, nullptr, out, &anynul, &status),
        fmt::format("cannot read pixels {}..{}", first, first + n - 1));
}

void FitsFile::read_image(std::int64_t first, std::int64_t n, float* out) {
  read_image_typed(TFLOAT, first, n, out);
}

void FitsFile::read_image(std::int64_t first, std::int64_t n, double* out) {
  read_image_typed(TDOUBLE, first, n, out);
}

void FitsFile::read_image_int32(std::int64_t first, std::int64_t n, std::int32_t* out) {
  // uint32 images (BITPIX 32 + BZERO 2^31, how astropy writes DESI's masks) are read as
  // unsigned and keep their bits; signed int32 images are read as they are.
  int status = 0, equiv = 0;
  check(fits_get_img_equivtype(as_fits(handle_), &equiv, &status), "cannot read BZERO/BSCALE");
  static_assert(sizeof(unsigned int) == sizeof(std::int32_t));
  read_image_typed(equiv == ULONG_IMG ? TUINT : TINT, first, n, out);
}

std::optional<std::string> FitsFile::read_key_string(const char* key) {
  int status = 0;
  char value[FLEN_VALUE] = {0};
  if (fits_read_key(as_fits(handle_), TSTRING, key, value, nullptr, &status) != 0) {
    if (status == KEY_NO_EXIST) {
      fits_clear_errmsg();
      return std::nullopt;
    }
    fail(fmt::format("cannot read keyword {}", key), status);
  }
  return rtrim(value);
}

void FitsFile::fail(std::string_view what, int status) const {
  std::string msg = current_.empty()
                        ? fmt::format("{}: {}", path_.string(), what)
                        : fmt::format("{}: HDU {}: {}", path_.string(), current_, what);
  if (status != 0) msg += " (" + detail::fits_error_string(status) + ")";
  throw InputError(msg);
}

}  // namespace fits
}  // namespace specvae
