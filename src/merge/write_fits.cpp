// The catalogue as a FITS binary table (EXTNAME CATALOG) through CFITSIO, with the
// thresholds and hashes as header keywords; readable by astropy.table.Table.read.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <type_traits>

#include <fitsio.h>
#include <fmt/format.h>

#include "specvae/core/error.hpp"
#include "specvae/core/staged_file.hpp"
#include "specvae/core/version.hpp"
#include "specvae/merge/writers.hpp"

namespace specvae::merge {

namespace {

struct Column {
  std::string name, form, unit, comment;
};

void key_double(fitsfile* f, const char* key, double v, const char* comment) {
  int status = 0;
  // FITS has no NaN value: an undefined keyword value says the same (a threshold with no
  // finite score to take it from).
  if (std::isfinite(v)) fits_update_key(f, TDOUBLE, key, &v, comment, &status);
  else fits_update_key_null(f, key, comment, &status);
  if (status) throw InputError(fmt::format("cannot write the FITS key {} ({})", key, detail::fits_error_string(status)));
}

void key_string(fitsfile* f, const char* key, const std::string& v, const char* comment) {
  int status = 0;
  fits_update_key(f, TSTRING, key, const_cast<char*>(v.c_str()), comment, &status);
  if (status) throw InputError(fmt::format("cannot write the FITS key {} ({})", key, detail::fits_error_string(status)));
}

// The binary-table form (TFORMn) and CFITSIO type of a per-row column.
template <typename T> int fits_type();
template <> int fits_type<std::int64_t>() { return TLONGLONG; }
template <> int fits_type<std::int32_t>() { return TINT; }
template <> int fits_type<double>() { return TDOUBLE; }
template <> int fits_type<float>() { return TFLOAT; }
template <> int fits_type<std::uint8_t>() { return TBYTE; }
template <typename T> std::string fits_form(const std::vector<T>&) {
  if constexpr (std::is_same_v<T, std::string>) return std::to_string(kRowStringWidth) + "A";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "K";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "J";
  else if constexpr (std::is_same_v<T, double>) return "D";
  else if constexpr (std::is_same_v<T, float>) return "E";
  else return "B";
}

}  // namespace

void write_catalogue_fits(const std::filesystem::path& path, const Catalogue& c, std::int64_t rows_per_block) {
  const auto un = static_cast<std::size_t>(c.n), ul = un * static_cast<std::size_t>(c.latent);
  const char* short_column = c.first_column_not_of(un);
  SPECVAE_CHECK(short_column == nullptr, "catalogue column {} does not have {} rows", short_column ? short_column : "", c.n);
  SPECVAE_CHECK(c.combined.size() == un &&
                    c.rank_combined.size() == un && c.flag_combined.size() == un && c.latent_mu.size() == ul &&
                    c.latent_logvar.size() == ul,
                "catalogue columns do not all have {} rows", c.n);
  for (int s = 0; s < kNumScores; ++s)
    SPECVAE_CHECK(c.score[s].size() == un && c.rank[s].size() == un && c.flag[s].size() == un,
                  "catalogue score columns do not all have {} rows", c.n);
  // A temporary name of our own (core/staged_file.hpp), freed at once for CFITSIO, which
  // creates only new files.
  const std::filesystem::path tmp = reserve_temp_name(path);
  std::filesystem::remove(tmp);
  struct Unfinished {  // closes and removes the temporary file on every way out but the commit
    fitsfile* f = nullptr;
    std::filesystem::path tmp;
    ~Unfinished() {
      int st = 0;
      if (f != nullptr) fits_close_file(f, &st);
      std::error_code ec;
      if (!tmp.empty()) std::filesystem::remove(tmp, ec);
    }
  } unfinished{nullptr, tmp};
  int status = 0;
  // A failed write (a full disk, a quota) is the user's to fix: say which file and why.
  const auto check_status = [&] {
    if (status == 0) return;
    // CFITSIO keeps no errno: a failed write is the storage's (a full disk, a quota) when
    // errno says so, and CFITSIO's first message otherwise.
    const int e = errno;
    const std::string shown = user_visible_path(path).string();
    if (status == WRITE_ERROR && (e == ENOSPC || e == EDQUOT || e == EIO || e == EFBIG)) throw_write_error(path, e);
    std::string why = detail::fits_error_string(status);
    if (const auto semi = why.find(';'); semi != std::string::npos) why.resize(semi);
    throw InputError(fmt::format("{}: cannot write the FITS catalogue ({}); what was there before is unchanged", shown, why));
  };
  fits_create_diskfile(&unfinished.f, tmp.c_str(), &status);  // the name as it is: "(" or "[" in it are literal
  check_status();
  fitsfile* f = unfinished.f;
  const std::string L = std::to_string(c.latent);
  // Each column with its unit (TUNITn) and what it is (TCOMMn).
  std::vector<Column> cols;
  c.for_each_column([&](const ColumnSpec& spec, const auto& col) {
    cols.push_back({upper_name(spec.name), fits_form(col), spec.unit, spec.description});
  });
  static const char* const what[kNumScores] = {
      "VAE weighted MSE at the latent mean (higher: more anomalous)",
      "reconstruction log-probability (lower: more anomalous)",
      "negative LOF of the latent mean (lower: more anomalous)",
      "PCA weighted MSE, the yardstick (higher: more anomalous)"};
  for (int s = 0; s < kNumScores; ++s) {
    std::string up = kScores[s].name;
    for (char& ch : up) ch = static_cast<char>(std::toupper(ch));
    cols.push_back({up, "D", "", what[s]});
    cols.push_back({"RANK_" + up, "K", "", "rank by " + std::string(kScores[s].name) + " (1: most anomalous)"});
    cols.push_back({"FLAG_" + up, "L", "", "in the top TOPFRAC by " + std::string(kScores[s].name)});
  }
  cols.push_back({"COMBINED", "D", "", "mean anomaly percentile of mse, recon_logprob and nof"});
  cols.push_back({"RANK_COMBINED", "K", "", "rank by combined (1: most anomalous)"});
  cols.push_back({"FLAG_COMBINED", "L", "", "in the top TOPFRAC by combined"});
  cols.push_back({"LATENT_MU", L + "E", "", "latent mean of the encoder"});
  cols.push_back({"LATENT_LOGVAR", L + "E", "", "latent log-variance of the encoder"});
  std::vector<char*> ttype, tform, tunit;
  for (Column& col : cols) {
    ttype.push_back(col.name.data());
    tform.push_back(col.form.data());
    tunit.push_back(col.unit.data());
  }
  fits_create_tbl(f, BINARY_TBL, c.n, static_cast<int>(cols.size()), ttype.data(), tform.data(), tunit.data(),
                  "CATALOG", &status);
  check_status();
  key_double(f, "TOPFRAC", c.top_fraction, "fraction flagged per score");
  key_double(f, "THR_MSE", c.threshold[0], "MSE of the last flagged row");
  key_double(f, "THR_LOGP", c.threshold[1], "recon log-prob of the last flagged row");
  key_double(f, "THR_NOF", c.threshold[2], "NOF of the last flagged row");
  key_double(f, "THR_COMB", c.threshold_combined, "combined score of the last flagged row");
  key_string(f, "DSHASH", c.dataset_hash, "dataset hash");
  key_string(f, "MDLHASH", c.model_hash, "model hash");
  key_string(f, "CFGHASH", c.config_hash, "config hash of the score run");
  key_double(f, "LOF_K", static_cast<double>(c.lof_k), "LOF neighbours");
  key_string(f, "SPECVAE", std::string(version_string()), "specvae version that wrote the catalogue");
  fits_write_date(f, &status);  // DATE: when it was written (UTC)
  check_status();
  for (std::size_t i = 0; i < cols.size(); ++i) {
    const std::string key = fmt::format("TCOMM{}", i + 1);
    key_string(f, key.c_str(), cols[i].comment.substr(0, 68), "");
  }

  // Row blocks of CFITSIO's optimal size (fits_get_rowsize): every column of a block is written
  // while the block sits in CFITSIO's buffers. Whole columns one after another would sweep the
  // file once per column (≈ 25 reads and writes of the whole table).
  long optimal = 0;
  fits_get_rowsize(f, &optimal, &status);
  check_status();
  const std::int64_t block = rows_per_block > 0 ? rows_per_block : std::max<std::int64_t>(1, optimal);
  std::vector<char> logical_buf;
  std::vector<char*> type_ptr;
  for (std::int64_t r0 = 0; r0 < c.n; r0 += block) {
    const std::int64_t m = std::min(block, c.n - r0);
    const auto first_row = static_cast<LONGLONG>(r0 + 1);
    int colno = 1;
    const auto write = [&](int type, const void* column, std::size_t elem_bytes, std::int64_t per_row = 1) {
      auto* p = const_cast<char*>(static_cast<const char*>(column)) + static_cast<std::size_t>(r0 * per_row) * elem_bytes;
      fits_write_col(f, type, colno, first_row, 1, static_cast<LONGLONG>(m * per_row), p, &status);
      check_status();
      ++colno;
    };
    const auto logical = [&](const std::vector<std::uint8_t>& v) {
      logical_buf.assign(v.begin() + r0, v.begin() + r0 + m);
      fits_write_col(f, TLOGICAL, colno, first_row, 1, static_cast<LONGLONG>(m), logical_buf.data(), &status);
      check_status();
      ++colno;
    };
    c.for_each_column([&](const ColumnSpec&, const auto& col) {
      using T = typename std::decay_t<decltype(col)>::value_type;
      if constexpr (std::is_same_v<T, std::string>) {
        type_ptr.clear();
        for (std::int64_t i = r0; i < r0 + m; ++i) type_ptr.push_back(const_cast<char*>(col[static_cast<std::size_t>(i)].c_str()));
        fits_write_col(f, TSTRING, colno++, first_row, 1, static_cast<LONGLONG>(m), type_ptr.data(), &status);
        check_status();
      } else {
        write(fits_type<T>(), col.data(), sizeof(T));
      }
    });
    for (int s = 0; s < kNumScores; ++s) {
      write(TDOUBLE, c.score[s].data(), sizeof(double));
      write(TLONGLONG, c.rank[s].data(), sizeof(std::int64_t));
      logical(c.flag[s]);
    }
    write(TDOUBLE, c.combined.data(), sizeof(double));
    write(TLONGLONG, c.rank_combined.data(), sizeof(std::int64_t));
    logical(c.flag_combined);
    // Vector columns: m·L elements, row-major from the block's first row.
    write(TFLOAT, c.latent_mu.data(), sizeof(float), c.latent);
    write(TFLOAT, c.latent_logvar.data(), sizeof(float), c.latent);
  }
  fits_write_chksum(f, &status);
  unfinished.f = nullptr;
  fits_close_file(f, &status);
  check_status();
  sync_file(tmp);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw InputError(fmt::format("{}: cannot rename the finished file from {} ({})", path.string(), tmp.string(), ec.message()));
  unfinished.tmp.clear();
}

}  // namespace specvae::merge
