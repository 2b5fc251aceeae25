// Columns added to both catalogue forms, edited in copies in a staging folder and committed
// together (see include/specvae/merge/add_columns.hpp).
#include "specvae/merge/add_columns.hpp"

#include <cctype>
#include <cerrno>

#include <fitsio.h>
#include <fmt/format.h>
#include <hdf5.h>

#include "specvae/core/commit.hpp"
#include "specvae/core/error.hpp"
#include "specvae/core/staged_file.hpp"
#include "specvae/io/hdf5.hpp"
#include "specvae/merge/merge.hpp"
#include "specvae/io/h5_columns.hpp"

namespace specvae::merge {
namespace fs = std::filesystem;

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::int64_t column_rows(const ExtraColumn& c) {
  return static_cast<std::int64_t>(c.i64.empty() ? c.f64.size() : c.i64.size());
}

void add_to_hdf5(const fs::path& path, const std::vector<ExtraColumn>& columns, const std::vector<ExtraKey>& keys) {
  h5::Handle f = h5::open_file(MPI_COMM_NULL, path, /*writable=*/true);
  const std::int64_t n = h5::read_attr_int(f, "n_rows");
  for (const ExtraColumn& c : columns) {
    if (column_rows(c) != n)
      throw InputError(fmt::format("{}: holds {} rows, the new column {} {}", user_visible_path(path).string(), n, c.name,
                                   column_rows(c)));
    if (H5Lexists(f, c.name.c_str(), H5P_DEFAULT) > 0 && H5Ldelete(f, c.name.c_str(), H5P_DEFAULT) < 0)
      throw InputError(fmt::format("{}: cannot replace the column {}", user_visible_path(path).string(), c.name));
    if (c.i64.empty()) h5col::write(f, c.name, c.f64);
    else h5col::write(f, c.name, c.i64);
    h5::Handle d = h5::open_dataset(f, c.name, path);
    h5::write_attr(d, "description", c.description);
  }
  for (const ExtraKey& k : keys) h5::write_attr(f, k.hdf5_name, k.value);
  h5::close_file(f, path);
}

void add_to_fits(const fs::path& path, const std::vector<ExtraColumn>& columns, const std::vector<ExtraKey>& keys) {
  int status = 0;
  fitsfile* f = nullptr;
  const auto check = [&](const char* doing) {
    if (status == 0) return;
    const int e = errno;
    if (f) {
      int ignored = 0;
      fits_close_file(f, &ignored);
      f = nullptr;
    }
    if (status == WRITE_ERROR && (e == ENOSPC || e == EDQUOT || e == EIO || e == EFBIG)) throw_write_error(path, e);
    throw InputError(fmt::format("{}: cannot {} ({})", user_visible_path(path).string(), doing,
                                 detail::fits_error_string(status)));
  };
  fits_open_diskfile(&f, path.c_str(), READWRITE, &status);  // the name as it is: "(" or "[" are literal
  check("open the FITS catalogue");
  char extname[] = "CATALOG";
  fits_movnam_hdu(f, BINARY_TBL, extname, 0, &status);
  check("find its CATALOG table");
  LONGLONG n = 0;
  fits_get_num_rowsll(f, &n, &status);
  check("read its row count");
  // Columns of the same names go first, last one first, with their descriptions.
  for (auto it = columns.rbegin(); it != columns.rend(); ++it) {
    std::string name = upper(it->name);
    int colnum = 0;
    fits_get_colnum(f, CASEINSEN, name.data(), &colnum, &status);
    if (status == COL_NOT_FOUND) {
      status = 0;
      continue;
    }
    check("look up a column");
    const std::string tcomm = fmt::format("TCOMM{}", colnum);
    fits_delete_key(f, tcomm.c_str(), &status);
    if (status == KEY_NO_EXIST) status = 0;
    fits_delete_col(f, colnum, &status);
    check("replace a column");
  }
  for (const ExtraColumn& c : columns) {
    if (column_rows(c) != n)
      throw InputError(fmt::format("{}: holds {} rows, the new column {} {}", user_visible_path(path).string(), n, c.name,
                                   column_rows(c)));
    int ncols = 0;
    fits_get_num_cols(f, &ncols, &status);
    std::string name = upper(c.name);
    char form[] = "D", form_k[] = "K";
    fits_insert_col(f, ncols + 1, name.data(), c.i64.empty() ? form : form_k, &status);
    check("add a column");
    if (c.i64.empty())
      fits_write_col(f, TDOUBLE, ncols + 1, 1, 1, n, const_cast<double*>(c.f64.data()), &status);
    else
      fits_write_col(f, TLONGLONG, ncols + 1, 1, 1, n, const_cast<std::int64_t*>(c.i64.data()), &status);
    check("write a column");
    const std::string tcomm = fmt::format("TCOMM{}", ncols + 1);
    fits_update_key(f, TSTRING, tcomm.c_str(), const_cast<char*>(c.description.substr(0, 68).c_str()), nullptr, &status);
    check("describe a column");
  }
  for (const ExtraKey& k : keys) {
    fits_update_key(f, TSTRING, k.fits_key.c_str(), const_cast<char*>(k.value.c_str()), k.comment.c_str(), &status);
    check("write a header keyword");
  }
  fits_write_chksum(f, &status);
  check("write its checksum");
  fits_close_file(f, &status);
  f = nullptr;
  check("close it");
}

}  // namespace

void add_catalogue_columns(const fs::path& dir, const std::vector<ExtraColumn>& columns, const std::vector<ExtraKey>& keys) {
  finish_interrupted_commit(dir, "catalogue");
  const fs::path h5 = catalogue_hdf5_path(dir), fits = catalogue_fits_path(dir);
  for (const fs::path& p : {h5, fits})
    if (!fs::is_regular_file(p)) throw InputError(fmt::format("{}: no such catalogue file (run `specvae merge` first)", p.string()));
  StagingDir staging(dir, "catalogue");
  const fs::path h5_new = staging.path() / h5.filename(), fits_new = staging.path() / fits.filename();
  std::error_code ec;
  for (const auto& [from, to] : {std::pair{h5, h5_new}, std::pair{fits, fits_new}}) {
    fs::copy_file(from, to, ec);
    if (ec) throw_write_error(to, ec.value(), "copy the catalogue");
  }
  add_to_hdf5(h5_new, columns, keys);
  add_to_fits(fits_new, columns, keys);
  staging.commit({});
}

}  // namespace specvae::merge
