// The Local Outlier Factor's steps with exactly scikit-learn's semantics
// (LocalOutlierFactor(n_neighbors=k).negative_outlier_factor_, REFERENCE.md §2), on one block
// of query rows whose neighbours are known; the arrays "_all" hold every row of the point set,
// so a distributed caller all-gathers between the steps (score/lof.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "specvae/neighbours/exact_knn.hpp"

namespace specvae::neighbours {

// k-distance(o) = distance to o's k-th neighbour.
std::vector<double> k_distances(const KnnResult& knn);
// lrd(p) = 1 / (mean_{o ∈ N_k(p)} max(d(p,o), k-distance(o)) + 1e-10); kdist_all over all rows.
std::vector<double> local_reachability_density(const KnnResult& knn, std::span<const double> kdist_all);
// NOF(p) = −mean_{o ∈ N_k(p)} lrd(o) / lrd(p); lrd_all over all rows, lrd_own for the queries.
std::vector<double> negative_outlier_factor(const KnnResult& knn, std::span<const double> lrd_all,
                                            std::span<const double> lrd_own);
// All three over a KnnResult of every row (one process): the NOF of each row.
std::vector<double> negative_outlier_factor_all(const KnnResult& knn_all);

// scikit-learn's n_neighbors_: max(1, min(k, n − 1)). Throws InputError for n < 2.
int effective_k(int k, std::int64_t n);

}  // namespace specvae::neighbours
