// Reads the FIBERMAP columns specvae uses from a coadd/spectra file, for a block of rows, one
// CFITSIO call per column. Types are checked against what desispec writes (TARGETID K,
// TARGET_RA/DEC D, (COADD_)FIBERSTATUS J, OBJTYPE A, *_TARGET K); optional columns read as 0.
#include <string>

#include "desi_internal.hpp"
#include "specvae/core/error.hpp"

namespace specvae::desi_detail {
namespace {

using fits::ColType;

// Reads an optional int64 target-bit column into `field` of every row.
void read_optional_bits(fits::FitsFile& file, std::string_view name, std::int64_t first_row,
                        std::int64_t n, std::vector<FiberInfo>& rows,
                        std::int64_t FiberInfo::*field) {
  auto col = file.find_column(name);
  if (!col) return;
  file.check_column_type(*col, ColType::int64, "K (int64)");
  std::vector<std::int64_t> values(static_cast<std::size_t>(n));
  file.read_column(*col, first_row, n, values.data());
  for (std::size_t i = 0; i < values.size(); ++i) rows[i].*field = values[i];
}

}  // namespace

std::vector<FiberInfo> read_fibermap(fits::FitsFile& file, std::int64_t file_nspec,
                                     std::int64_t first_row, std::int64_t n) {
  file.move_to("FIBERMAP");
  const std::int64_t table_rows = file.table_rows();
  if (table_rows != file_nspec)
    file.fail(fmt::format("has {} rows but the FLUX HDUs have {} spectra", table_rows, file_nspec));

  std::vector<FiberInfo> rows(static_cast<std::size_t>(n));
  std::vector<std::int64_t> i64(static_cast<std::size_t>(n));
  std::vector<double> f64(static_cast<std::size_t>(n));
  std::vector<std::int32_t> i32(static_cast<std::size_t>(n));

  const auto targetid = file.require_column("TARGETID", ColType::int64, "K (int64)");
  file.read_column(targetid, first_row, n, i64.data());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].targetid = i64[i];

  const auto ra = file.require_column("TARGET_RA", ColType::float64, "D (float64)");
  file.read_column(ra, first_row, n, f64.data());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].ra = f64[i];
  const auto dec = file.require_column("TARGET_DEC", ColType::float64, "D (float64)");
  file.read_column(dec, first_row, n, f64.data());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].dec = f64[i];

  // Coadds carry COADD_FIBERSTATUS; spectra files (exposure level) carry FIBERSTATUS.
  auto status = file.find_column("COADD_FIBERSTATUS");
  if (!status) status = file.find_column("FIBERSTATUS");
  if (!status) file.fail("missing column COADD_FIBERSTATUS (or FIBERSTATUS)");
  file.check_column_type(*status, ColType::int32, "J (int32)");
  file.read_column(*status, first_row, n, i32.data());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].coadd_fiberstatus = i32[i];

  if (auto objtype = file.find_column("OBJTYPE")) {
    file.check_column_type(*objtype, ColType::string, "A (characters)");
    std::vector<std::string> s;
    file.read_column(*objtype, first_row, n, s);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i].objtype = std::move(s[i]);
  }

  read_optional_bits(file, "DESI_TARGET", first_row, n, rows, &FiberInfo::desi_target);
  read_optional_bits(file, "BGS_TARGET", first_row, n, rows, &FiberInfo::bgs_target);
  read_optional_bits(file, "MWS_TARGET", first_row, n, rows, &FiberInfo::mws_target);
  read_optional_bits(file, "SCND_TARGET", first_row, n, rows, &FiberInfo::scnd_target);

  // SV files keep their target bits in SV<k>_*_TARGET; use the first SV survey present.
  for (const char* sv : {"SV1", "SV2", "SV3"}) {
    const std::string p = sv;
    if (!file.find_column(p + "_DESI_TARGET") && !file.find_column(p + "_BGS_TARGET") &&
        !file.find_column(p + "_MWS_TARGET") && !file.find_column(p + "_SCND_TARGET"))
      continue;
    read_optional_bits(file, p + "_DESI_TARGET", first_row, n, rows, &FiberInfo::sv_desi_target);
    read_optional_bits(file, p + "_BGS_TARGET", first_row, n, rows, &FiberInfo::sv_bgs_target);
    read_optional_bits(file, p + "_MWS_TARGET", first_row, n, rows, &FiberInfo::sv_mws_target);
    read_optional_bits(file, p + "_SCND_TARGET", first_row, n, rows, &FiberInfo::sv_scnd_target);
    break;
  }
  return rows;
}

}  // namespace specvae::desi_detail
