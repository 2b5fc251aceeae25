// The per-spectrum columns every row-shaped file carries: the dataset, the score shards and the
// catalogue (HDF5, FITS and CSV). One table names each column, its type, unit and meaning;
// every reader and writer loops over it, so the files cannot drift apart and a new column is
// one line here. DatasetRows, ScoreShard and Catalogue derive from RowColumns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace specvae {

// Fixed width of the string columns (bytes). DESI's SPECTYPE is 6 characters, SURVEY 7 and
// PROGRAM 6; a longer value is refused with the row it came from, never cut.
inline constexpr std::size_t kRowStringWidth = 16;

struct ColumnSpec {
  const char* name;         // HDF5 dataset and CSV header (lower case); FITS TTYPE is its upper case
  const char* unit;         // FITS TUNIT, "" for none
  const char* description;  // FITS TCOMM and the HDF5 attribute "description"
};

struct RowColumns {
  std::vector<std::int64_t> targetid;
  std::vector<std::string> survey, program;
  std::vector<std::int32_t> healpix;
  std::vector<double> ra, dec, z;
  std::vector<std::int64_t> zwarn;
  std::vector<double> deltachi2;
  std::vector<std::string> spectype;
  std::vector<std::int32_t> coadd_fiberstatus;
  std::vector<float> snr;
  std::vector<std::uint8_t> split;

  // f(const ColumnSpec&, column) for every column in file order; column is a std::vector of
  // int64, int32, double, float, uint8 or std::string.
  template <class F> void for_each_column(F&& f) { visit(*this, f); }
  template <class F> void for_each_column(F&& f) const { visit(*this, f); }

  std::size_t column_rows() const { return targetid.size(); }
  void resize_columns(std::size_t n);
  void append_columns(const RowColumns& other);
  // Row `from` copied onto row `to` (compaction in place, to ≤ from).
  void move_row(std::size_t from, std::size_t to);
  // The rows at `which`, in that order.
  RowColumns take_rows(const std::vector<std::int64_t>& which) const;
  // The name of the first column whose length is not n, or nullptr.
  const char* first_column_not_of(std::size_t n) const;
  // The name of the first string column holding a value longer than kRowStringWidth or not
  // valid UTF-8 at row i, or nullptr.
  const char* bad_string_at(std::size_t i) const;

 private:
  template <class Self, class F> static void visit(Self& s, F& f) {
    f(ColumnSpec{"targetid", "", "DESI TARGETID"}, s.targetid);
    f(ColumnSpec{"survey", "", "DESI SURVEY of the coadd (main, sv1, sv3, special, ...; empty when unknown)"}, s.survey);
    f(ColumnSpec{"program", "", "DESI PROGRAM of the coadd (dark, bright, backup, ...; empty when unknown)"}, s.program);
    f(ColumnSpec{"healpix", "", "nested HEALPix pixel of the coadd file (HPXPIXEL; -1 for tile coadds)"}, s.healpix);
    f(ColumnSpec{"ra", "deg", "right ascension (fibre map TARGET_RA)"}, s.ra);
    f(ColumnSpec{"dec", "deg", "declination (fibre map TARGET_DEC)"}, s.dec);
    f(ColumnSpec{"z", "", "redshift used for the rest frame (redrock Z)"}, s.z);
    f(ColumnSpec{"zwarn", "", "redrock ZWARN (0: no warning)"}, s.zwarn);
    f(ColumnSpec{"deltachi2", "", "redrock DELTACHI2 (chi2 gap to the next best fit)"}, s.deltachi2);
    f(ColumnSpec{"spectype", "", "redrock SPECTYPE"}, s.spectype);
    f(ColumnSpec{"coadd_fiberstatus", "", "fibre map COADD_FIBERSTATUS (0: no problem flagged)"}, s.coadd_fiberstatus);
    f(ColumnSpec{"snr", "", "median S/N per pixel over the rest-frame window"}, s.snr);
    f(ColumnSpec{"split", "", "0: training row, 1: validation row"}, s.split);
  }
};

// True when `s` is valid UTF-8 (no overlong forms or surrogates).
bool valid_utf8(std::string_view s);

// The upper-case form of a column name (its FITS TTYPE).
std::string upper_name(std::string_view name);

}  // namespace specvae
