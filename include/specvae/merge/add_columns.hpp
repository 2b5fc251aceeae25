// Columns added to a merged catalogue by a later stage (`specvae learn`'s scores): the HDF5 and
// FITS catalogues are copied into a staging folder, given the columns and header values there,
// and replace the old pair as one commit (core/commit.hpp), so a kill or a full disk leaves
// the catalogue as it was. A column of the same name is replaced; top_outliers.csv is kept.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace specvae::merge {

struct ExtraColumn {
  std::string name;         // lower case in catalogue.h5, upper case in catalogue.fits
  std::string description;  // the HDF5 "description" attribute and the FITS TCOMMn
  std::vector<double> f64;  // one of the two, a value per catalogue row
  std::vector<std::int64_t> i64;
};

struct ExtraKey {
  std::string hdf5_name;  // root attribute of catalogue.h5
  std::string fits_key;   // header keyword of the CATALOG HDU (8 characters at most)
  std::string value;
  std::string comment;
};

// `dir`: the merge output folder. InputError naming the file when a catalogue is missing, holds
// another number of rows, or cannot be written.
void add_catalogue_columns(const std::filesystem::path& dir, const std::vector<ExtraColumn>& columns,
                           const std::vector<ExtraKey>& keys);

}  // namespace specvae::merge
