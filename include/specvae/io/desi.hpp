// Reading DESI spectra (coadd-*.fits, spectra-*.fits) and redshifts (redrock-*.fits REDSHIFTS,
// or a zcatalog's ZCATALOG HDU) with CFITSIO. HDUs are found by EXTNAME, never by position.
// Every problem with a file is an InputError naming the file, the HDU and, where it applies,
// the row or column.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace specvae {

// One camera (b, r, z, or any other name such as brz) of a spectra/coadd file.
struct CameraData {
  std::string name;               // lower case: "b", "r", "z", ...
  std::vector<double> wave;       // [nwave], Å (X_WAVELENGTH)
  std::vector<float> flux;        // [nspec * nwave], row-major (X_FLUX, 1e-17 erg/s/cm²/Å)
  std::vector<float> ivar;        // [nspec * nwave] (X_IVAR)
  std::vector<std::int32_t> mask; // [nspec * nwave] (X_MASK, SPECMASK bits; all 0 when absent)
  bool has_mask = false;
  std::size_t nwave() const { return wave.size(); }
};

// FIBERMAP columns specvae uses; rows follow the spectra.
struct FiberInfo {
  std::int64_t targetid = 0;
  double ra = 0, dec = 0;                 // TARGET_RA, TARGET_DEC (deg)
  std::int32_t coadd_fiberstatus = 0;     // COADD_FIBERSTATUS (or FIBERSTATUS in frame-like files)
  std::string objtype;                    // TGT, SKY, NON, BAD
  std::int64_t desi_target = 0, bgs_target = 0, mws_target = 0, scnd_target = 0;  // 0 when absent
  // SV1/SV2/SV3_{DESI,BGS,MWS,SCND}_TARGET of the SV survey the file has (0 when absent): in SV
  // files the target bits live there and DESI_TARGET etc. are 0.
  std::int64_t sv_desi_target = 0, sv_bgs_target = 0, sv_mws_target = 0, sv_scnd_target = 0;
};

struct DesiSpectra {
  std::filesystem::path path;
  std::int64_t first_row = 0;             // rows [first_row, first_row + nspec) of the file
  std::int64_t nspec = 0;
  std::int64_t file_nspec = 0;            // rows in the whole file
  std::vector<CameraData> cameras;        // sorted by mean wavelength (b, r, z)
  bool has_fibermap = false;
  std::vector<FiberInfo> fibermap;        // [nspec] when has_fibermap
  std::string survey, program;            // PRIMARY header SURVEY / PROGRAM when present
  std::int32_t healpix = -1;              // PRIMARY header HPXPIXEL (-1 when absent: a tile coadd)
};

// A redrock REDSHIFTS row (or a zcatalog row).
struct Redshift {
  std::int64_t targetid = 0;
  double z = 0, zerr = 0;
  std::int64_t zwarn = 0;
  std::string spectype;                   // GALAXY, QSO, STAR (trailing blanks removed)
  std::string subtype;
  double deltachi2 = 0;
  std::string survey, program;            // zcatalog SURVEY / PROGRAM columns (empty in redrock files)
};

// Number of spectra in a coadd/spectra file (from the first camera's FLUX HDU).
std::int64_t count_desi_spectra(const std::filesystem::path& path);

// A coadd (FIBERMAP with COADD_FIBERSTATUS) has one row per target: throws an InputError
// naming the two rows if a TARGETID repeats, since redshifts are joined on TARGETID.
// Exposure-level spectra files, which repeat a target once per exposure, are not checked.
void check_coadd_targetids(const std::filesystem::path& path);

// Reads rows [first_row, first_row + n_rows) (n_rows < 0: to the end). Memory is bounded by
// the rows asked for. Checks dtypes, shapes, matching row counts across HDUs, finite values
// where ivar > 0, and that camera grids are strictly increasing.
// Also: IVAR must be finite and >= 0; non-finite FLUX where IVAR = 0 is set to 0; camera
// grids must coincide within 1e-4 Å where they overlap (desispec coadd_cameras); uint32
// masks (BZERO 2^31) keep their bits; a truncated file is reported when it is opened.
DesiSpectra read_desi_spectra(const std::filesystem::path& path, std::int64_t first_row = 0,
                              std::int64_t n_rows = -1);

// Reads the REDSHIFTS HDU of a redrock file, or the ZCATALOG HDU of a zcatalog.
std::vector<Redshift> read_redshifts(const std::filesystem::path& path);

// Same, keeping only rows whose TARGETID is in `targetids` (read in blocks of rows, so a
// survey-wide zcatalog costs memory only for the rows kept). Rows come in file order.
std::vector<Redshift> read_redshifts(const std::filesystem::path& path,
                                     std::span<const std::int64_t> targetids);

// Joins spectra with redshifts on TARGETID: result[i] is the redshift of spectrum i.
// A spectrum whose TARGETID has no redshift is an InputError naming both files and the row.
// A TARGETID listed more than once (a zcatalog spanning surveys) is resolved by the spectra
// file's SURVEY/PROGRAM; if that leaves more or less than one row it is an InputError.
std::vector<Redshift> join_redshifts(const DesiSpectra& spectra, const std::vector<Redshift>& redshifts,
                                     const std::filesystem::path& redshift_path);

}  // namespace specvae
