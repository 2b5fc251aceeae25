// Reads redshifts from a redrock file (REDSHIFTS HDU) or a zcatalog (ZCATALOG HDU) and joins
// them to spectra on TARGETID. Tables are read in row blocks, optionally keeping only wanted
// TARGETIDs, so a survey-wide zcatalog costs memory for the rows kept, not for the file.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>

#include "specvae/core/error.hpp"
#include "specvae/io/desi.hpp"
#include "specvae/io/fits_util.hpp"

namespace specvae {
namespace {

using fits::ColType;

// Rows per CFITSIO call: large enough to amortise the call, small enough (~10 MB of
// temporaries) to keep memory flat on catalogues with tens of millions of rows.
constexpr std::int64_t kBlockRows = 1 << 16;

}  // namespace

namespace {

// Reads the table in blocks and keeps the rows for which keep(targetid) is true.
template <typename Keep>
std::vector<Redshift> read_redshift_rows(const std::filesystem::path& path, Keep keep) {
  fits::FitsFile file(path);
  if (file.has_hdu("REDSHIFTS")) {
    file.move_to("REDSHIFTS");
  } else if (file.has_hdu("ZCATALOG")) {
    file.move_to("ZCATALOG");
  } else {
    file.fail("neither a REDSHIFTS HDU (redrock file) nor a ZCATALOG HDU (zcatalog)");
  }
  const std::int64_t nrows = file.table_rows();

  const auto targetid = file.require_column("TARGETID", ColType::int64, "K (int64)");
  const auto z = file.require_column("Z", ColType::float64, "D (float64)");
  const auto zerr = file.require_column("ZERR", ColType::float64, "D (float64)");
  const auto zwarn = file.require_column("ZWARN", ColType::int64, "K (int64)");
  const auto spectype = file.require_column("SPECTYPE", ColType::string, "6A (characters)");
  const auto deltachi2 = file.require_column("DELTACHI2", ColType::float64, "D (float64)");
  const auto subtype = file.find_column("SUBTYPE");
  if (subtype) file.check_column_type(*subtype, ColType::string, "20A (characters)");
  const auto survey = file.find_column("SURVEY");
  if (survey) file.check_column_type(*survey, ColType::string, "7A (characters)");
  const auto program = file.find_column("PROGRAM");
  if (program) file.check_column_type(*program, ColType::string, "6A (characters)");

  std::vector<Redshift> out;
  std::vector<Redshift> rows;
  std::vector<std::int64_t> i64;
  std::vector<double> f64;
  std::vector<std::string> str;
  for (std::int64_t first = 0; first < nrows; first += kBlockRows) {
    const std::int64_t n = std::min(kBlockRows, nrows - first);
    const std::size_t un = std::size_t(n);
    i64.resize(un);
    f64.resize(un);
    file.read_column(targetid, first, n, i64.data());
    if (std::none_of(i64.begin(), i64.end(), keep)) continue;  // nothing wanted in this block
    rows.assign(un, Redshift{});
    for (std::size_t i = 0; i < un; ++i) rows[i].targetid = i64[i];
    file.read_column(zwarn, first, n, i64.data());
    for (std::size_t i = 0; i < un; ++i) rows[i].zwarn = i64[i];

    file.read_column(z, first, n, f64.data());
    for (std::size_t i = 0; i < un; ++i) {
      if (!std::isfinite(f64[i]) && keep(rows[i].targetid))
        file.fail(fmt::format("row {} (TARGETID {}): Z is {}", first + std::int64_t(i),
                              rows[i].targetid, f64[i]));
      rows[i].z = f64[i];
    }
    file.read_column(zerr, first, n, f64.data());
    for (std::size_t i = 0; i < un; ++i) rows[i].zerr = f64[i];
    file.read_column(deltachi2, first, n, f64.data());
    for (std::size_t i = 0; i < un; ++i) rows[i].deltachi2 = f64[i];

    file.read_column(spectype, first, n, str);
    for (std::size_t i = 0; i < un; ++i) rows[i].spectype = std::move(str[i]);
    if (subtype) {
      file.read_column(*subtype, first, n, str);
      for (std::size_t i = 0; i < un; ++i) rows[i].subtype = std::move(str[i]);
    }
    if (survey) {
      file.read_column(*survey, first, n, str);
      for (std::size_t i = 0; i < un; ++i) rows[i].survey = std::move(str[i]);
    }
    if (program) {
      file.read_column(*program, first, n, str);
      for (std::size_t i = 0; i < un; ++i) rows[i].program = std::move(str[i]);
    }
    for (auto& r : rows)
      if (keep(r.targetid)) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::vector<Redshift> read_redshifts(const std::filesystem::path& path) {
  return read_redshift_rows(path, [](std::int64_t) { return true; });
}

std::vector<Redshift> read_redshifts(const std::filesystem::path& path,
                                     std::span<const std::int64_t> targetids) {
  std::vector<std::int64_t> wanted(targetids.begin(), targetids.end());
  std::sort(wanted.begin(), wanted.end());
  return read_redshift_rows(path, [&](std::int64_t tid) {
    return std::binary_search(wanted.begin(), wanted.end(), tid);
  });
}

std::vector<Redshift> join_redshifts(const DesiSpectra& spectra, const std::vector<Redshift>& redshifts,
                                     const std::filesystem::path& redshift_path) {
  if (!spectra.has_fibermap)
    throw InputError(fmt::format("{}: no FIBERMAP HDU, so its spectra have no TARGETID to join "
                                 "with the redshifts in {}", spectra.path.string(),
                                 redshift_path.string()));
  // Sorted index instead of a hash map: no per-row allocation, and duplicates sit together.
  std::vector<std::size_t> order(redshifts.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return redshifts[a].targetid < redshifts[b].targetid;
  });
  auto key_less = [&](std::size_t idx, std::int64_t tid) { return redshifts[idx].targetid < tid; };

  std::vector<Redshift> out;
  out.reserve(spectra.fibermap.size());
  for (std::size_t i = 0; i < spectra.fibermap.size(); ++i) {
    const std::int64_t tid = spectra.fibermap[i].targetid;
    auto lo = std::lower_bound(order.begin(), order.end(), tid, key_less);
    auto hi = lo;
    while (hi != order.end() && redshifts[*hi].targetid == tid) ++hi;
    const std::int64_t row = spectra.first_row + std::int64_t(i);
    if (lo == hi)
      throw InputError(fmt::format("{}: FIBERMAP row {}: TARGETID {} has no redshift in {}",
                                   spectra.path.string(), row, tid, redshift_path.string()));
    // A zcatalog's SURVEY/PROGRAM say which coadd a redshift was fitted on: one of another
    // survey or program (the wrong zpix-SURVEY-PROGRAM file, say) is not this spectrum's.
    // Only the fields both sides have are compared, ignoring case.
    auto differs = [](const std::string& a, const std::string& b) {
      if (a.empty() || b.empty()) return false;
      return !std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
      });
    };
    auto other_coadd = [&](const Redshift& r) {
      return differs(r.survey, spectra.survey) || differs(r.program, spectra.program);
    };
    if (hi - lo == 1) {
      const Redshift& r = redshifts[*lo];
      if (other_coadd(r))
        throw InputError(fmt::format(
            "{}: FIBERMAP row {}: TARGETID {} has no row for this file's SURVEY '{}' / PROGRAM '{}' in {} (its one "
            "row there is for '{}' / '{}')",
            spectra.path.string(), row, tid, spectra.survey, spectra.program, redshift_path.string(), r.survey,
            r.program));
      out.push_back(r);
      continue;
    }
    if (std::all_of(lo, hi, [&](std::size_t k) { return redshifts[k].survey.empty(); }))
      throw InputError(fmt::format("{}: TARGETID {} (FIBERMAP row {} of {}) appears in {} rows; a redrock file has "
                                   "one row per target",
                                   redshift_path.string(), tid, row, spectra.path.string(), hi - lo));
    // Several rows (a zcatalog spanning surveys): keep the one of this file's survey/program.
    const Redshift* match = nullptr;
    std::size_t matches = 0;
    for (auto it = lo; it != hi; ++it) {
      const Redshift& r = redshifts[*it];
      if (!spectra.survey.empty() && r.survey == spectra.survey && r.program == spectra.program) {
        match = &r;
        ++matches;
      }
    }
    if (matches != 1)
      throw InputError(fmt::format(
          "{}: FIBERMAP row {}: TARGETID {} has {} rows in {} and {} of them match this file's "
          "SURVEY '{}' / PROGRAM '{}'", spectra.path.string(), row, tid, hi - lo,
          redshift_path.string(), matches, spectra.survey, spectra.program));
    out.push_back(*match);
  }
  return out;
}

}  // namespace specvae
