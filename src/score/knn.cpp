// Exact kNN for LOF. The k-d tree is the default: on 10-d latent means it visits a small
// fraction of the points per query, where brute force must touch all N (N² work) and FAISS's
// flat index uses the expanded ‖a‖²+‖b‖²−2a·b form that loses accuracy. Candidates are
// chosen with float distances; the chosen neighbours' distances are then recomputed in double.
#include "specvae/score/knn.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <faiss/IndexFlat.h>
#include <omp.h>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/gpu/knn_cuda.hpp"
#include "specvae/gpu/resources.hpp"
#include "specvae/score/bruteforce_tile.hpp"

namespace specvae::score {

KnnMethod parse_knn_method(const std::string& name, int gpu_device, int k) {
  if (name == "auto") return cuda_built() && gpu_device >= 0 && k <= gpu::kGpuKnnMaxK ? KnnMethod::Cuda : KnnMethod::KdTree;
  if (name == "kdtree") return KnnMethod::KdTree;
  if (name == "bruteforce") return KnnMethod::BruteForce;
  if (name == "faiss") return KnnMethod::Faiss;
  if (name == "cuda") {
    if (!cuda_built()) throw ConfigError("score.knn=cuda: this specvae was built without CUDA");
    return KnnMethod::Cuda;
  }
  throw ConfigError("score.knn: unknown kNN method '" + name + "' (expected auto, kdtree, bruteforce, faiss or cuda)");
}

KnnMethod choose_knn_method(const std::string& name, int gpu_device, int k, std::int64_t n_query, std::int64_t n_base,
                            int dim, int rank) {
  const KnnMethod method = parse_knn_method(name, gpu_device, k);
  if (method != KnnMethod::Cuda || name != "auto") return method;
  std::size_t need = 0, free = 0;
  if (gpu::gpu_knn_fits(gpu_device, n_query, n_base, dim, k, &need, &free)) return method;
  log::warn("rank {}: the GPU kNN over {} latent means needs ≈ {:.1f} GiB, the GPU has {:.1f} GiB free; this rank "
            "searches with the k-d tree on the CPU",
            rank, n_base, double(need) / (1 << 30), double(free) / (1 << 30));
  return KnnMethod::KdTree;
}

std::string knn_method_name(KnnMethod method) {
  switch (method) {
    case KnnMethod::KdTree: return "kdtree";
    case KnnMethod::BruteForce: return "bruteforce";
    case KnnMethod::Faiss: return "faiss";
    case KnnMethod::Cuda: return "cuda";
  }
  return "?";
}

namespace {

// FAISS ranks by the expanded form ‖a‖² + ‖b‖² − 2a·b in float, which loses digits far from
// the origin and between near-duplicates; so the points are centred first (as cuML advises)
// and more candidates than needed are fetched, to be re-ranked in double by the caller.
void faiss_candidates(std::span<const float> points, std::int64_t n, int d, std::int64_t q_begin, std::int64_t nq,
                      int width, std::int64_t* ids, int threads) {
  if (threads > 0) omp_set_num_threads(threads);
  std::vector<double> mean(d, 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) mean[j] += points[i * d + j];
  std::vector<float> centred(points.begin(), points.end());
  for (std::int64_t i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) centred[i * d + j] -= static_cast<float>(mean[j] / static_cast<double>(n));
  faiss::IndexFlatL2 index(d);
  index.add(n, centred.data());
  std::vector<float> d2(static_cast<std::size_t>(nq) * width);
  static_assert(sizeof(faiss::Index::idx_t) == sizeof(std::int64_t));
  if (nq > 0)
    index.search(nq, centred.data() + q_begin * d, width, d2.data(), reinterpret_cast<faiss::Index::idx_t*>(ids));
}

}  // namespace

KnnResult knn_excluding_self(std::span<const float> points, std::int64_t n, int d, std::int64_t q_begin,
                             std::int64_t nq, int k, KnnMethod method, int threads, int gpu_device) {
  SPECVAE_CHECK(d > 0 && n >= 0 && static_cast<std::int64_t>(points.size()) == n * d, "points: {} floats for {}×{}",
                points.size(), n, d);
  SPECVAE_CHECK(k >= 1 && k <= n - 1, "k = {} needs 1 ≤ k ≤ n−1 with n = {}", k, n);
  SPECVAE_CHECK(q_begin >= 0 && nq >= 0 && q_begin + nq <= n, "queries [{}, {}) outside [0, {})", q_begin,
                q_begin + nq, n);
  if (method == KnnMethod::Cuda && !cuda_built()) throw ConfigError("score.knn=cuda: this specvae was built without CUDA");
  if (method == KnnMethod::KdTree) return neighbours::kdtree_neighbours(points, n, d, q_begin, nq, k, threads);
  // The other searches rank by the expanded form in float: each fetches spare candidates
  // beyond the k + 1 (the query itself) for the exact re-rank, which also finds the rows
  // their ranking could not resolve (neighbours/exact_knn.hpp).
  const int cap = k + 1;
  int width = 0;
  std::vector<std::int64_t> cand;
  switch (method) {
    case KnnMethod::BruteForce: {
      width = static_cast<int>(std::min<std::int64_t>(n, cap + 4 + bruteforce_extra_candidates(d)));
      cand.assign(static_cast<std::size_t>(nq) * width, -1);
      std::vector<float> cand_d(cand.size(), std::numeric_limits<float>::infinity());
      bruteforce_candidates_tiled(points, n, d, q_begin, nq, width, cand.data(), cand_d.data(), threads);
      break;
    }
    case KnnMethod::Faiss:
      width = static_cast<int>(std::min<std::int64_t>(n, 2 * cap + 16));
      cand.assign(static_cast<std::size_t>(nq) * width, -1);
      faiss_candidates(points, n, d, q_begin, nq, width, cand.data(), threads);
      break;
    case KnnMethod::Cuda: {
      gpu::GpuKnnOptions options;
      options.device = std::max(gpu_device, 0);
      options.keep_candidates = true;  // k + self and the spares, for the same re-rank
      const gpu::GpuKnnResult g =
          gpu::gpu_knn(points.data() + q_begin * d, nq, points.data(), n, d, k, q_begin, options);
      width = g.k_cand;
      cand.assign(g.candidates.begin(), g.candidates.end());
      break;
    }
    case KnnMethod::KdTree: break;
  }
  return neighbours::exact_neighbours(points, n, d, q_begin, nq, k, cand, width, true, knn_method_name(method),
                                      threads);
}

}  // namespace specvae::score
