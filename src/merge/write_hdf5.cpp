// The catalogue as HDF5: one dataset per column, provenance, thresholds, per-class MSE and
// detection quality as root attributes (numbers as numbers, the tables also as text).
#include <fmt/format.h>

#include "specvae/core/staged_file.hpp"
#include "specvae/core/version.hpp"
#include "specvae/io/hdf5.hpp"
#include "specvae/merge/writers.hpp"
#include "specvae/io/h5_columns.hpp"

namespace specvae::merge {

void write_catalogue_hdf5(const std::filesystem::path& path, const Catalogue& c,
                          const std::vector<ClassSummary>& classes, const std::vector<ClassSummary>& classes_normal,
                          const std::vector<DetectionRow>& detection) {
  StagedFile staged(path);
  {
    h5::Handle f = h5::create_file(MPI_COMM_NULL, staged.temp());
    h5::write_attr(f, "schema", std::string("specvae catalogue"));
    h5::write_attr(f, "schema_version", std::int64_t{kCatalogueSchemaVersion});
    h5::write_attr(f, "n_rows", c.n);
    h5::write_attr(f, "latent_dim", std::int64_t{c.latent});
    h5::write_attr(f, "dataset_hash", c.dataset_hash);
    h5::write_attr(f, "model_hash", c.model_hash);
    h5::write_attr(f, "config_hash", c.config_hash);
    h5::write_attr(f, "score_code_version", c.code_version);
    h5::write_attr(f, "merge_code_version", version_string());
    h5::write_attr(f, "dataset_path", c.dataset_path);
    h5::write_attr(f, "checkpoint_path", c.checkpoint_path);
    h5::write_attr(f, "knn_method", c.knn_method);
    h5::write_attr(f, "lof_k", c.lof_k);
    h5::write_attr(f, "recon_samples", c.recon_samples);
    h5::write_attr(f, "n_shards", c.n_shards);
    h5::write_attr(f, "top_fraction", c.top_fraction);
    h5::write_attr(f, "n_flagged", c.n_flagged);
    h5::write_attr(f, "combined_definition",
                   std::string("mean over mse, recon_logprob and nof of the anomaly percentile 1 - (rank - 1)/n"));
    for (int s = 0; s < kNumScores; ++s) h5::write_attr(f, fmt::format("threshold_{}", kScores[s].name), c.threshold[s]);
    h5::write_attr(f, "threshold_combined", c.threshold_combined);
    h5::write_attr(f, "pca_components", c.pca_k);
    h5::write_attr(f, "pca_sample_rows", c.pca_sample_rows);
    h5::write_attr(f, "pca_definition",
                   std::string("pca_mse = (1/M) sum w (x - xhat)^2, xhat = pca_mean + sum_k ((x - pca_mean) . e_k) e_k, "
                               "e_k the rows of pca_eigenspectra (training spectra, /split 0), w = ivar with masked bins 0"));
    h5col::write(f, "pca_mean", c.pca_mean);
    h5col::write(f, "pca_eigenspectra", c.pca_evecs, static_cast<int>(c.pca_mean.size()));
    for (const ClassSummary& k : classes) {
      h5::write_attr(f, "n_" + k.spectype, k.n_all);
      h5::write_attr(f, "mean_mse_val_" + k.spectype, k.mean_mse_val);
      h5::write_attr(f, "median_mse_val_" + k.spectype, k.median_mse_val);
    }
    h5::write_attr(f, "class_table", format_class_table(classes));
    for (const ClassSummary& k : classes_normal) {
      h5::write_attr(f, "truth_normal_n_" + k.spectype, k.n_all);
      h5::write_attr(f, "truth_normal_mean_mse_val_" + k.spectype, k.mean_mse_val);
      h5::write_attr(f, "truth_normal_median_mse_val_" + k.spectype, k.median_mse_val);
    }
    if (!classes_normal.empty()) h5::write_attr(f, "class_table_truth_normal", format_class_table(classes_normal));
    if (!detection.empty()) {
      h5::write_attr(f, "detection_table", format_detection_table(detection, c.top_fraction));
      h5::write_attr(f, "yardstick_table", format_yardstick_table(detection, c.top_fraction));
      for (const DetectionRow& d : detection) {
        std::string kind = d.kind;
        for (char& ch : kind) ch = ch == ' ' ? '_' : ch;
        h5::write_attr(f, "truth_n_" + kind, d.n_catalogue);
        for (int s = 0; s <= kNumScores; ++s) {
          const std::string name = detection_score_name(s);
          h5::write_attr(f, fmt::format("recall_{}_{}", kind, name), d.recall[s]);
          h5::write_attr(f, fmt::format("precision_{}_{}", kind, name), d.precision[s]);
          h5::write_attr(f, fmt::format("auc_{}_{}", kind, name), d.auc[s]);
        }
      }
    }
    h5col::write_row_columns(f, c);
    for (int s = 0; s < kNumScores; ++s) {
      h5col::write(f, kScores[s].name, c.score[s]);
      h5col::write(f, fmt::format("rank_{}", kScores[s].name), c.rank[s]);
      h5col::write(f, fmt::format("flag_{}", kScores[s].name), c.flag[s]);
    }
    h5col::write(f, "combined", c.combined);
    h5col::write(f, "rank_combined", c.rank_combined);
    h5col::write(f, "flag_combined", c.flag_combined);
    h5col::write(f, "latent_mu", c.latent_mu, c.latent);
    h5col::write(f, "latent_logvar", c.latent_logvar, c.latent);
    h5::close_file(f, staged.temp());
  }
  staged.commit();
}

}  // namespace specvae::merge
