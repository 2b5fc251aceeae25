// `specvae merge` as a library function: read the score shards, refuse incomplete, overlapping
// or mixed-model sets, build the catalogue and write catalogue.h5, catalogue.fits and
// top_outliers.csv; with a truth table, measure detection quality. Serial (one process).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "specvae/core/config.hpp"
#include "specvae/dist/stage_context.hpp"
#include "specvae/merge/catalogue.hpp"
#include "specvae/merge/quality.hpp"

namespace specvae::merge {

struct MergeOptions {
  std::filesystem::path shard_dir;  // score-shard-*.h5 from `specvae score`
  std::vector<std::filesystem::path> shards;  // or the shard files themselves (overrides shard_dir)
  std::filesystem::path out_dir;
  std::filesystem::path truth;      // optional truth.csv from `specvae simulate`
};

struct MergeResult {
  std::filesystem::path hdf5, fits, csv;
  std::int64_t rows = 0;
  std::vector<ClassSummary> classes;
  std::vector<ClassSummary> classes_normal;  // with a truth table: injected anomalies left out
  std::vector<DetectionRow> detection;
  std::string report;  // the tables, as printed
};

// merge.top_fraction and merge.top_n_csv from the config.
// One process (ctx needs no communicator).
MergeResult run_merge(const StageContext& ctx, const MergeOptions& options);

// Names of the catalogue files in a merge output folder.
std::filesystem::path catalogue_hdf5_path(const std::filesystem::path& out_dir);
std::filesystem::path catalogue_fits_path(const std::filesystem::path& out_dir);
std::filesystem::path top_csv_path(const std::filesystem::path& out_dir);

}  // namespace specvae::merge
