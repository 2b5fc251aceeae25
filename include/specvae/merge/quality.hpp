// What the catalogue says about the data and the method: mean weighted MSE by SPECTYPE on the
// validation rows (paper §5.1), and — when the simulated survey's truth table is given —
// detection quality per anomaly kind: recall in the top fraction by each score, and ROC AUC
// of each score separating that kind from normal spectra.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "specvae/merge/catalogue.hpp"

namespace specvae::merge {

struct ClassSummary {
  std::string spectype;
  std::int64_t n_all = 0, n_val = 0;
  double mean_mse_val = 0;    // NaN without validation rows
  double median_mse_val = 0;  // NaN without validation rows (the mean is dominated by a few)
  double mean_mse_all = 0;
  double mean_pca_val = 0, median_pca_val = 0;  // pca_mse (the PCA yardstick) on the same validation rows
};
// By SPECTYPE over the catalogue; with `normal_only` (a truth table: targetid → anomaly kind),
// only rows the truth calls "normal", i.e. the simulated survey's true classes without its
// injected anomalies (which ingest labels GALAXY).
std::vector<ClassSummary> class_summaries(const Catalogue& cat,
                                          const std::map<std::int64_t, std::string>* normal_only = nullptr);

// targetid → anomaly kind ("normal" for normal objects), from truth.csv (columns found by name:
// targetid and anomaly). Throws InputError naming the file and line.
std::map<std::int64_t, std::string> read_truth_csv(const std::filesystem::path& path);
// InputError unless at least one of the catalogue's TARGETIDs is in the truth table.
void check_truth_matches(const std::map<std::int64_t, std::string>& truth, std::span<const std::int64_t> targetid,
                         const std::filesystem::path& path);

struct DetectionRow {
  std::string kind;
  std::int64_t n_truth = 0;       // objects of this kind in the truth table
  std::int64_t n_catalogue = 0;   // of them, in the catalogue (ingest may drop some)
  double recall[kNumScores + 1];     // in the top fraction by mse, recon_logprob, nof, pca_mse, combined
  double auc[kNumScores + 1];        // vs. normal catalogue rows (NaN when either set is empty)
  double precision[kNumScores + 1];  // of the rows flagged by the score (top fraction) and in the
                                     // truth table, the fraction that are of this kind
};
// The last row is kind "all anomalies": every kind but normal together.
std::vector<DetectionRow> detection_quality(const Catalogue& cat, const std::map<std::int64_t, std::string>& truth);

// ROC AUC of `score` (higher = predicted positive) for labels (1 positive, 0 negative);
// Mann–Whitney with average ranks for ties. Rows with a NaN score are left out. NaN when a
// class is empty.
double roc_auc(const std::vector<double>& score, const std::vector<std::uint8_t>& label);

// Human-readable tables (also stored in the catalogue's attributes).
std::string format_class_table(const std::vector<ClassSummary>& rows);
std::string format_detection_table(const std::vector<DetectionRow>& rows, double top_fraction);
// Every score against the PCA yardstick on all anomalies: AUC, precision and recall in the
// top fraction, one line per score, and which VAE score beats pca_mse.
std::string format_yardstick_table(const std::vector<DetectionRow>& rows, double top_fraction);
// The score names in DetectionRow order: kScores, then "combined".
std::string detection_score_name(int s);

}  // namespace specvae::merge
