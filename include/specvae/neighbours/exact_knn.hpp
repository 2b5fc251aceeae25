// Exact k nearest neighbours with scikit-learn's self-exclusion, from any search's candidates:
// the chosen neighbours' distances recomputed in double, rows sorted by (distance, index), and
// rows whose float ranking could not resolve them searched again with the k-d tree. Every kNN
// method `specvae score` has (the k-d tree, the CPU brute force, FAISS, the GPU search; see
// score/knn.hpp) ends here, and the GPU tests compare the GPU search with it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace specvae::neighbours {

// Neighbours of nq query rows, k per row, sorted by (distance, index).
struct KnnResult {
  int k = 0;
  std::vector<std::int64_t> index;  // [nq × k] global row indices into the point set
  std::vector<double> distance;     // [nq × k] Euclidean, recomputed in double from the coordinates
};

// points: n × d floats (row-major), the whole point set; the queries are its own rows
// [q_begin, q_begin + nq). cand: [nq × width] candidate rows per query (width ≥ k + 1, the
// query itself among them as any exact search finds it). For each query the k+1 nearest
// candidates by exact distance (ties by smaller index) are kept and the column holding the
// query's own index removed, or the first column when the query is not among them (more than
// k exact duplicates): scikit-learn's KNeighborsMixin.kneighbors(X=None).
// float_ranked: the candidates were ranked by the expanded form ‖x‖² + ‖y‖² − 2·x·y in float
// (centred on the mean), whose rounding can push a true neighbour behind the spare
// candidates in a cluster far tighter than its distance from the mean; rows where that
// cannot be ruled out are searched again with the k-d tree (ranked by Σ(x − y)², exact to
// rounding). `source` names the search in the log line that counts them.
// Requires 1 ≤ k ≤ n − 1. threads: 0 = OpenMP default.
KnnResult exact_neighbours(std::span<const float> points, std::int64_t n, int d, std::int64_t q_begin,
                           std::int64_t nq, int k, std::span<const std::int64_t> cand, int width, bool float_ranked,
                           std::string_view source, int threads = 0);

// The CPU default: the k-d tree's candidates (k + 1 and 4 spares, for float distance² ties)
// through exact_neighbours.
KnnResult kdtree_neighbours(std::span<const float> points, std::int64_t n, int d, std::int64_t q_begin,
                            std::int64_t nq, int k, int threads = 0);

}  // namespace specvae::neighbours
