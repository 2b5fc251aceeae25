// The catalogue's three forms, each written to a temporary name and renamed: HDF5 (every
// column plus provenance, thresholds and the quality tables as attributes), a FITS binary
// table (CFITSIO; astropy reads it with Table.read), and a CSV of the top N rows by each score.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "specvae/merge/catalogue.hpp"
#include "specvae/merge/quality.hpp"

namespace specvae::merge {

void write_catalogue_hdf5(const std::filesystem::path& path, const Catalogue& cat,
                          const std::vector<ClassSummary>& classes, const std::vector<ClassSummary>& classes_normal,
                          const std::vector<DetectionRow>& detection);
// Written in blocks of rows_per_block rows (0: CFITSIO's optimal number, fits_get_rowsize); the
// file does not depend on the block size.
void write_catalogue_fits(const std::filesystem::path& path, const Catalogue& cat, std::int64_t rows_per_block = 0);
// Columns: by, rank, targetid, ra, dec, z, spectype, snr, split, mse, recon_logprob, nof, combined;
// top_n rows for each of mse, recon_logprob, nof and combined (fewer when n is smaller).
void write_top_csv(const std::filesystem::path& path, const Catalogue& cat, std::int64_t top_n);

}  // namespace specvae::merge
