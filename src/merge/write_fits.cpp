// The catalogue as a FITS binary table (EXTNAME CATALOG) through CFITSIO, with the
// thresholds and hashes as header keywords; readable by astropy.table.Table.read.
#include <cstring>
#include <filesystem>

#include <fitsio.h>
#include <fmt/format.h>

#include "specvae/core/error.hpp"
#include "specvae/merge/writers.hpp"

namespace specvae::merge {

namespace {

struct Column {
  std::string name, form, unit;
};

void key_double(fitsfile* f, const char* key, double v, const char* comment) {
  int status = 0;
  fits_update_key(f, TDOUBLE, key, &v, comment, &status);
  SPECVAE_FITS_CHECK(status);
}

void key_string(fitsfile* f, const char* key, const std::string& v, const char* comment) {
  int status = 0;
  fits_update_key(f, TSTRING, key, const_cast<char*>(v.c_str()), comment, &status);
  SPECVAE_FITS_CHECK(status);
}

}  // namespace

void write_catalogue_fits(const std::filesystem::path& path, const Catalogue& c) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  std::filesystem::remove(tmp);
  fitsfile* f = nullptr;
  int status = 0;
  fits_create_file(&f, tmp.c_str(), &status);
  if (status) throw InputError(fmt::format("{}: cannot create FITS file ({})", tmp.string(), detail::fits_error_string(status)));
  const std::string L = std::to_string(c.latent);
  std::vector<Column> cols = {{"TARGETID", "K", ""}, {"RA", "D", "deg"},  {"DEC", "D", "deg"}, {"Z", "D", ""},
                              {"SPECTYPE", "6A", ""}, {"SNR", "E", ""},    {"SPLIT", "B", ""}};
  for (int s = 0; s < kNumScores; ++s) {
    std::string up = kScores[s].name;
    for (char& ch : up) ch = static_cast<char>(std::toupper(ch));
    cols.push_back({up, "D", ""});
    cols.push_back({"RANK_" + up, "K", ""});
    cols.push_back({"FLAG_" + up, "L", ""});
  }
  cols.push_back({"COMBINED", "D", ""});
  cols.push_back({"RANK_COMBINED", "K", ""});
  cols.push_back({"FLAG_COMBINED", "L", ""});
  cols.push_back({"LATENT_MU", L + "E", ""});
  cols.push_back({"LATENT_LOGVAR", L + "E", ""});
  std::vector<char*> ttype, tform, tunit;
  for (Column& col : cols) {
    ttype.push_back(col.name.data());
    tform.push_back(col.form.data());
    tunit.push_back(col.unit.data());
  }
  fits_create_tbl(f, BINARY_TBL, c.n, static_cast<int>(cols.size()), ttype.data(), tform.data(), tunit.data(),
                  "CATALOG", &status);
  SPECVAE_FITS_CHECK(status);
  key_double(f, "TOPFRAC", c.top_fraction, "fraction flagged per score");
  key_double(f, "THR_MSE", c.threshold[0], "MSE of the last flagged row");
  key_double(f, "THR_LOGP", c.threshold[1], "recon log-prob of the last flagged row");
  key_double(f, "THR_NOF", c.threshold[2], "NOF of the last flagged row");
  key_double(f, "THR_COMB", c.threshold_combined, "combined score of the last flagged row");
  key_string(f, "DSHASH", c.dataset_hash, "dataset hash");
  key_string(f, "MDLHASH", c.model_hash, "model hash");
  key_string(f, "CFGHASH", c.config_hash, "config hash of the score run");
  key_double(f, "LOF_K", static_cast<double>(c.lof_k), "LOF neighbours");

  int colno = 1;
  const auto write = [&](int type, void* data) {
    if (c.n > 0) fits_write_col(f, type, colno, 1, 1, c.n, data, &status);
    SPECVAE_FITS_CHECK(status);
    ++colno;
  };
  const auto logical = [&](const std::vector<std::uint8_t>& v) {
    std::vector<char> b(v.begin(), v.end());
    write(TLOGICAL, b.data());
  };
  write(TLONGLONG, const_cast<std::int64_t*>(c.targetid.data()));
  write(TDOUBLE, const_cast<double*>(c.ra.data()));
  write(TDOUBLE, const_cast<double*>(c.dec.data()));
  write(TDOUBLE, const_cast<double*>(c.z.data()));
  std::vector<std::string> types = c.spectype;
  std::vector<char*> tptr;
  for (auto& t : types) tptr.push_back(t.data());
  write(TSTRING, tptr.data());
  write(TFLOAT, const_cast<float*>(c.snr.data()));
  write(TBYTE, const_cast<std::uint8_t*>(c.split.data()));
  for (int s = 0; s < kNumScores; ++s) {
    write(TDOUBLE, const_cast<double*>(c.score[s].data()));
    write(TLONGLONG, const_cast<std::int64_t*>(c.rank[s].data()));
    logical(c.flag[s]);
  }
  write(TDOUBLE, const_cast<double*>(c.combined.data()));
  write(TLONGLONG, const_cast<std::int64_t*>(c.rank_combined.data()));
  logical(c.flag_combined);
  // Vector columns: n·L elements written row-major from the first element.
  for (const std::vector<float>* v : {&c.latent_mu, &c.latent_logvar}) {
    if (c.n > 0) fits_write_col(f, TFLOAT, colno, 1, 1, c.n * c.latent, const_cast<float*>(v->data()), &status);
    SPECVAE_FITS_CHECK(status);
    ++colno;
  }
  fits_write_chksum(f, &status);
  fits_close_file(f, &status);
  SPECVAE_FITS_CHECK(status);
  std::filesystem::rename(tmp, path);
}

}  // namespace specvae::merge
