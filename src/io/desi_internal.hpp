// Pieces of the DESI reader shared between its source files (not part of the public API).
#pragma once

#include <cstdint>
#include <vector>

#include "specvae/io/desi.hpp"
#include "specvae/io/fits_util.hpp"

namespace specvae::desi_detail {

// FIBERMAP rows [first_row, first_row + n) of an open coadd/spectra file. The table must have
// `file_nspec` rows (one per spectrum); column types are checked against what DESI writes.
std::vector<FiberInfo> read_fibermap(fits::FitsFile& file, std::int64_t file_nspec,
                                     std::int64_t first_row, std::int64_t n);

}  // namespace specvae::desi_detail
