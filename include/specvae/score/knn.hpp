// Exact k nearest neighbours of low-dimensional points (the 10-d latent means) for LOF:
// a k-d tree (the CPU default), a register-tiled brute force, FAISS IndexFlatL2 and, in CUDA
// builds, the GPU brute force (gpu::gpu_knn), all with scikit-learn's self-exclusion, ties
// broken by index and the chosen neighbours' distances recomputed in double.
//
// How exact each is: the k-d tree ranks by Σ(q − b)² and matches scikit-learn to rounding
// (it is the default on CPUs). The brute force, FAISS and the GPU search rank candidates by
// the expanded form ‖q‖² + ‖b‖² − 2·q·b in float (centred on the mean) and keep spare
// candidates for the double re-sort. Inside a cluster much tighter than its distance from
// the mean (spread ≲ 1e-3 of it: near-identical spectra away from the bulk) the float ranking
// loses the order; knn_excluding_self detects those rows (the gap between the (k+1)-th and
// the last candidate's exact distance below the rounding bound) and searches them again with
// the k-d tree, for the brute force, FAISS and the GPU search (whose candidate lists come
// back for this). Exact duplicates are unaffected.
// Among several distinct points at exactly the k-th distance, the smaller index is taken;
// scikit-learn's choice there follows its tree, so LOF can differ on such lattice-like ties.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "specvae/neighbours/exact_knn.hpp"

namespace specvae::score {

enum class KnnMethod { KdTree, BruteForce, Faiss, Cuda };

// "kdtree", "bruteforce", "faiss", "cuda"; "auto" → Cuda when this build has CUDA and
// gpu_device ≥ 0, else KdTree. Throws ConfigError otherwise, and for "cuda" without CUDA.
// k (when > 0): "auto" picks the CPU k-d tree where the GPU search cannot take k.
KnnMethod parse_knn_method(const std::string& name, int gpu_device = -1, int k = 0);
std::string knn_method_name(KnnMethod method);
// The method `specvae score` uses, the one place its `auto` policy lives: score.knn by name,
// where "auto" takes the GPU (gpu_device ≥ 0, a build with CUDA, k within the GPU kernels'
// reach) only when a search of n_query rows over n_base points of `dim` fits the GPU's free
// memory; otherwise this rank uses the k-d tree and says why (the search is no collective,
// so ranks may differ).
KnnMethod choose_knn_method(const std::string& name, int gpu_device, int k, std::int64_t n_query, std::int64_t n_base,
                            int dim, int rank);

using neighbours::KnnResult;  // neighbours/exact_knn.hpp

// points: n × d floats (row-major), the whole point set. Queries are the points' own rows
// [q_begin, q_begin + nq). For each query, the k+1 nearest points (the query itself
// included, ties broken by smaller index) are found; the column holding the query's own
// index is removed, or the first column when the query is not among them (more than k
// exact duplicates) — scikit-learn's KNeighborsMixin.kneighbors(X=None). Distances of the
// chosen neighbours are recomputed in double and the row re-sorted by (distance, index).
// Requires 1 ≤ k ≤ n − 1. threads: 0 = OpenMP default; gpu_device: the CUDA device for Cuda.
KnnResult knn_excluding_self(std::span<const float> points, std::int64_t n, int d, std::int64_t q_begin,
                             std::int64_t nq, int k, KnnMethod method, int threads = 0, int gpu_device = 0);

}  // namespace specvae::score
