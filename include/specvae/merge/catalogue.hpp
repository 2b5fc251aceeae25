// The merged catalogue: every dataset row exactly once, in dataset row order, keyed by
// (TARGETID, SURVEY, PROGRAM), with the per-row columns of io/row_columns.hpp, each score's rank (1 = most anomalous), its top-fraction flag and threshold,
// and a combined score. Built from score shards after the coverage and provenance checks.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "specvae/io/row_columns.hpp"
#include "specvae/score/score_shard.hpp"

namespace specvae::merge {

// The per-spectrum scores, in catalogue column order, and which direction is anomalous.
// pca_mse is the PCA yardstick (score/pca_yardstick.hpp): ranked, flagged and in the detection
// table like the VAE's scores, but not part of `combined`.
struct ScoreSpec {
  const char* name;
  bool higher_is_weirder;
  bool in_combined;
};
inline constexpr std::array<ScoreSpec, 4> kScores = {
    {{"mse", true, true}, {"recon_logprob", false, true}, {"nof", false, true}, {"pca_mse", true, false}}};
inline constexpr int kNumScores = 4;
inline constexpr int kPcaScore = 3;     // index of pca_mse
inline constexpr int kNumCombined = 3;  // scores in `combined`
inline constexpr int kCatalogueSchemaVersion = 3;  // 3: the DESI columns (2: pca_mse and the PCA yardstick)

struct Catalogue : RowColumns {
  std::int64_t n = 0;
  int latent = 0;
  // Read back with CatalogueColumns::spectype_strings = false instead of `spectype`: one byte
  // a row indexing spectype_names (sorted).
  std::vector<std::uint8_t> spectype_code;
  std::vector<std::string> spectype_names;
  std::array<std::vector<double>, kNumScores> score;  // mse, recon_logprob, nof, pca_mse
  std::vector<float> latent_mu, latent_logvar;         // [n × latent]
  // Derived by rank_catalogue():
  std::array<std::vector<std::int64_t>, kNumScores> rank;  // 1 = most anomalous
  std::array<std::vector<std::uint8_t>, kNumScores> flag;  // in the top fraction
  std::array<double, kNumScores> threshold{};              // score of the last flagged row
  // The PCA yardstick the pca_mse column was computed with.
  std::int64_t pca_k = 0, pca_sample_rows = 0;
  std::vector<double> pca_mean, pca_evecs;  // [n_bins], [pca_k × n_bins]
  // combined = mean over the VAE's three scores of the anomaly percentile 1 − (rank − 1)/n
  // (1 = most anomalous by that score); ranked and flagged like the others.
  std::vector<double> combined;
  std::vector<std::int64_t> rank_combined;
  std::vector<std::uint8_t> flag_combined;
  double threshold_combined = 0;
  double top_fraction = 0;
  std::int64_t n_flagged = 0;  // rows flagged per score: ceil(top_fraction · n)
  // Provenance, from the shards.
  std::string dataset_hash, model_hash, config_hash, code_version, dataset_path, checkpoint_path, knn_method;
  std::int64_t lof_k = 0, recon_samples = 0, n_shards = 0;
};

// Reads every shard (InputError naming the file on any problem).
std::vector<score::ScoreShard> read_shards(const std::vector<std::filesystem::path>& paths);

// Checks that the shards cover rows [0, N) exactly once with one dataset hash, one model hash
// and one N, and throws InputError saying which file is missing, overlapping or foreign.
// `paths` name the shards in messages.
void check_coverage(const std::vector<score::ScoreShard>& shards, const std::vector<std::filesystem::path>& paths);

// Concatenates the shards in row order (after check_coverage) and ranks them.
Catalogue build_catalogue(std::vector<score::ScoreShard> shards, const std::vector<std::filesystem::path>& paths,
                          double top_fraction);

// Ranks, flags, thresholds and the combined score (ties broken by row order; NaN scores
// rank last and are never flagged, so a score with fewer finite rows than n_flagged flags
// fewer; the threshold is the score of its last flagged row, NaN when none is).
void rank_catalogue(Catalogue& cat, double top_fraction);

// catalogue.h5 itself when given a file, the one inside when given a merge output folder.
std::filesystem::path resolve_catalogue_path(const std::filesystem::path& file_or_folder);

// Which columns read_catalogue reads in full (the provenance and thresholds always). What a
// stage leaves out stays empty; a catalogue of tens of millions of rows is ≈ 190 bytes a row
// read whole, ≈ 100 with only the columns the report needs.
struct CatalogueColumns {
  bool positions = true;         // every per-row column but targetid, split and spectype
  bool all_scores = true;        // the recon_logprob and combined values and every flag (the mse and
                                 // nof values, the ranks, targetid, split and latent_mu always)
  bool spectype_strings = true;  // else spectype_code + spectype_names
  bool logvar = false;           // latent_logvar (as large as latent_mu)
};

// Reads catalogue.h5 back (file or merge output folder): the provenance and thresholds, and
// every column (latent_logvar only when asked) or those `columns` asks for. InputError naming
// the file and dataset when it is not a complete specvae catalogue.
Catalogue read_catalogue(const std::filesystem::path& file_or_folder, bool with_logvar = false);
Catalogue read_catalogue(const std::filesystem::path& file_or_folder, const CatalogueColumns& columns);

// Every column (latent_logvar too) of the given rows of catalogue.h5, in the order given: a
// Catalogue of rows.size() rows with the file's provenance and thresholds. InputError for a
// row outside the catalogue.
Catalogue read_catalogue_rows(const std::filesystem::path& file_or_folder, const std::vector<std::int64_t>& rows);

}  // namespace specvae::merge
