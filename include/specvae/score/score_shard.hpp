// One rank's score shard: its rows' scores with everything merge needs to check coverage and
// provenance (row range, total rows, dataset hash, model hash) and to build the catalogue
// (the per-row columns of io/row_columns.hpp). HDF5, written atomically by its rank.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "specvae/io/row_columns.hpp"

namespace specvae::score {

inline constexpr int kScoreShardSchemaVersion = 3;  // 3: the DESI columns (2: pca_mse and the yardstick)

struct ScoreShard : RowColumns {
  // --- provenance (root attributes) ---
  std::int64_t row_begin = 0, row_count = 0, n_total_rows = 0;
  std::int64_t rank = 0, ranks = 1, latent = 0, lof_k = 0, recon_samples = 0;
  std::string dataset_hash, model_hash, config_hash, code_version, dataset_path, checkpoint_path, knn_method;
  // --- columns, row_count rows (the per-row columns are RowColumns') ---
  std::vector<double> mse, recon_logprob, nof;
  std::vector<double> pca_mse;                  // the PCA yardstick's weighted MSE (pca_yardstick.hpp)
  std::vector<float> latent_mu, latent_logvar;  // [row_count × latent]
  // The yardstick itself (the same in every shard of a run): k, its mean and eigenspectra.
  std::int64_t pca_k = 0, pca_sample_rows = 0;
  std::vector<double> pca_mean, pca_evecs;      // [n_bins], [pca_k × n_bins]

  // Throws InputError when a column's length does not match row_count (names `origin`).
  void validate(const std::string& origin) const;
};

// <dir>/score-shard-<rank, 5 digits>.h5
std::filesystem::path score_shard_path(const std::filesystem::path& dir, std::int64_t rank);
// Every score-shard-*.h5 in dir, sorted by name.
std::vector<std::filesystem::path> find_score_shards(const std::filesystem::path& dir);

// Serial HDF5 into "<path>.tmp", then renamed onto path.
void write_score_shard(const std::filesystem::path& path, const ScoreShard& shard);
// Serial HDF5 into exactly `file` (the caller renames it: run_score commits all ranks' shards
// together).
void write_score_shard_file(const std::filesystem::path& file, const ScoreShard& shard);
// Throws InputError naming the file and what is missing or inconsistent.
ScoreShard read_score_shard(const std::filesystem::path& path);

}  // namespace specvae::score
