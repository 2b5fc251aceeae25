// The LOF steps as scikit-learn's _lof.py computes them: float64 throughout, and the 1e-10
// that keeps lrd finite when more than k duplicates make every reach-distance 0.
#include "specvae/neighbours/lof_steps.hpp"

#include <algorithm>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"

namespace specvae::neighbours {

std::vector<double> k_distances(const KnnResult& knn) {
  const std::size_t nq = knn.index.size() / knn.k;
  std::vector<double> out(nq);
  for (std::size_t q = 0; q < nq; ++q) out[q] = knn.distance[q * knn.k + knn.k - 1];
  return out;
}

std::vector<double> local_reachability_density(const KnnResult& knn, std::span<const double> kdist_all) {
  const std::size_t k = knn.k, nq = knn.index.size() / k;
  std::vector<double> out(nq);
  for (std::size_t q = 0; q < nq; ++q) {
    double sum = 0;
    for (std::size_t j = 0; j < k; ++j) {
      const auto o = static_cast<std::size_t>(knn.index[q * k + j]);
      SPECVAE_CHECK(o < kdist_all.size(), "neighbour {} outside {} rows", o, kdist_all.size());
      sum += std::max(knn.distance[q * k + j], kdist_all[o]);
    }
    // scikit-learn: "1e-10 to avoid `nan' when nb of duplicates > n_neighbors_".
    out[q] = 1.0 / (sum / static_cast<double>(k) + 1e-10);
  }
  return out;
}

std::vector<double> negative_outlier_factor(const KnnResult& knn, std::span<const double> lrd_all,
                                            std::span<const double> lrd_own) {
  const std::size_t k = knn.k, nq = knn.index.size() / k;
  SPECVAE_CHECK(lrd_own.size() == nq, "lrd for {} rows, {} queries", lrd_own.size(), nq);
  std::vector<double> out(nq);
  for (std::size_t q = 0; q < nq; ++q) {
    double sum = 0;
    for (std::size_t j = 0; j < k; ++j) sum += lrd_all[static_cast<std::size_t>(knn.index[q * k + j])];
    out[q] = -(sum / static_cast<double>(k)) / lrd_own[q];
  }
  return out;
}

int effective_k(int k, std::int64_t n) {
  if (n < 2) throw InputError(fmt::format("LOF needs at least 2 spectra, got {}", n));
  if (k > n - 1)
    log::warn("LOF: n_neighbors = {} is not below the number of spectra ({}); using {}", k, n, n - 1);
  return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(k, n - 1)));
}

std::vector<double> negative_outlier_factor_all(const KnnResult& knn_all) {
  const std::vector<double> kdist = k_distances(knn_all);
  const std::vector<double> lrd = local_reachability_density(knn_all, kdist);
  return negative_outlier_factor(knn_all, lrd, lrd);
}

}  // namespace specvae::neighbours
