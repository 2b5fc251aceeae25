// The PCA yardstick every anomaly score must beat: the mean and the first k eigenspectra of
// the dataset's training spectra, and each spectrum's weighted MSE (paper Eq. 6) from its
// projection on them (`pca_mse`, Boroson & Lauer 2010). The same rows and preprocessing as the
// VAE's scores, so the catalogue compares like with like.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "specvae/dist/communicator.hpp"
#include "specvae/io/dataset.hpp"

namespace specvae::score {

struct PcaYardstick {
  int k = 0;                    // eigenspectra kept (fewer than asked for on very small samples;
                                // 0 with fewer than 2 training spectra: pca_mse is then NaN)
  int n_bins = 0;
  std::int64_t sample_rows = 0;  // training spectra it was fitted on
  std::vector<double> mean;      // [n_bins]
  std::vector<double> evecs;     // [k × n_bins], orthonormal rows, descending eigenvalue
};

// Collective. Fits on the training rows (/split 0) among at most `sample` rows of the whole
// dataset at evenly spaced global rows floor(j·N/S), gathered on every rank in global order;
// every rank then fits the same model from the same bytes, so the yardstick (and pca_mse)
// does not depend on the rank count. `local` is this rank's shard of the N rows.
PcaYardstick fit_pca_yardstick(Communicator& comm, const DatasetRows& local, std::int64_t n_total, int k,
                               std::int64_t sample);

// (1/M) Σ_j w_j (x_j − x̂_j)², w = ivar with masked bins 0, x̂ = mean + Σ_c ((x − mean)·e_c) e_c,
// in double; one value per row of `rows`.
std::vector<double> pca_mse(const PcaYardstick& pca, const DatasetRows& rows);

}  // namespace specvae::score
