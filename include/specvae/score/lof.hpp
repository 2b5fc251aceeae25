// Local Outlier Factor with exactly scikit-learn's semantics
// (LocalOutlierFactor(n_neighbors=k).negative_outlier_factor_, REFERENCE.md §2), computed over
// ALL rows of a distributed point set: each rank owns a contiguous block of rows (rank order),
// finds its rows' neighbours among every row, and k-distances and lrd are all-gathered.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "specvae/dist/communicator.hpp"
#include "specvae/neighbours/lof_steps.hpp"
#include "specvae/score/knn.hpp"

namespace specvae::score {

// The steps (neighbours/lof_steps.hpp), under the names score uses.
using neighbours::effective_k;
using neighbours::k_distances;
using neighbours::local_reachability_density;
using neighbours::negative_outlier_factor;

struct LofResult {
  int k = 0;                       // neighbours actually used
  std::int64_t n_total = 0;        // rows over all ranks
  std::int64_t row_begin = 0;      // this rank's first global row
  std::vector<double> nof;         // this rank's rows: negative_outlier_factor_
  std::vector<double> lrd;         // this rank's rows
  std::vector<double> k_distance;  // this rank's rows
  double knn_seconds = 0;          // time in the neighbour search (this rank)
};

// Collective: every rank passes its own rows' points (n_local × d floats, possibly none).
LofResult distributed_lof(Communicator& comm, std::span<const float> local_points, int d, int k,
                          KnnMethod method, int threads = 0, int gpu_device = 0);

// One process, all rows (the reference for the distributed version and for benchmarks).
LofResult lof(std::span<const float> points, std::int64_t n, int d, int k, KnnMethod method, int threads = 0);

}  // namespace specvae::score
