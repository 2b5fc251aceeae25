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
#include "specvae/score/kdtree.hpp"

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
  const int cap = k + 1;  // the query itself is among its own k+1 nearest, as in scikit-learn
  // The k-d tree ranks by float distance²: at 200k points a few queries per run have their
  // (k+1)-th and (k+2)-th neighbours within float rounding of each other, so 4 spare
  // candidates are fetched and the exact double re-rank below decides.
  int width = static_cast<int>(std::min<std::int64_t>(n, cap + 4));
  if (method == KnnMethod::Faiss) width = static_cast<int>(std::min<std::int64_t>(n, 2 * cap + 16));
  if (method == KnnMethod::BruteForce)
    width = static_cast<int>(std::min<std::int64_t>(n, cap + 4 + bruteforce_extra_candidates(d)));
  // The GPU search's candidates (k + self and its spares, ranked in float), re-ranked and
  // checked below as the CPU brute force's are.
  gpu::GpuKnnResult g;
  if (method == KnnMethod::Cuda) {
    gpu::GpuKnnOptions options;
    options.device = std::max(gpu_device, 0);
    options.keep_candidates = true;
    g = gpu::gpu_knn(points.data() + q_begin * d, nq, points.data(), n, d, k, q_begin, options);
    width = g.k_cand;
  }
  std::vector<std::int64_t> cand(static_cast<std::size_t>(nq) * width, -1);
  std::vector<float> cand_d(static_cast<std::size_t>(nq) * width, std::numeric_limits<float>::infinity());
  switch (method) {
    case KnnMethod::KdTree: {
      KdTree tree(points, n, d);
      tree.query_rows(q_begin, nq, width, cand.data(), cand_d.data(), threads);
      break;
    }
    case KnnMethod::BruteForce:
      bruteforce_candidates_tiled(points, n, d, q_begin, nq, width, cand.data(), cand_d.data(), threads);
      break;
    case KnnMethod::Faiss:
      faiss_candidates(points, n, d, q_begin, nq, width, cand.data(), threads);
      break;
    case KnnMethod::Cuda:
      std::copy(g.candidates.begin(), g.candidates.end(), cand.begin());
      break;
  }

  // The brute force and FAISS rank candidates by the expanded form ‖x‖² + ‖y‖² − 2·x·y in
  // float (centred on the mean). Its rounding, up to ≈ γ·(‖x‖² + ‖y‖²), can push a true
  // neighbour behind the spare candidates when it exceeds the gap between the (k+1)-th and
  // the last candidate's exact distance² (a cluster far tighter than its distance from the
  // mean). Such rows are found below and searched again with the k-d tree, which ranks by
  // Σ(x − y)² and is exact to rounding.
  const bool float_ranked = method != KnnMethod::KdTree;
  std::vector<double> centre(static_cast<std::size_t>(d), 0.0);
  if (float_ranked) {
    for (std::int64_t i = 0; i < n; ++i)
      for (int t = 0; t < d; ++t) centre[static_cast<std::size_t>(t)] += points[i * d + t];
    for (double& c : centre) c /= static_cast<double>(n);
  }
  const double gamma = 4.0 * (d + 4) * std::numeric_limits<float>::epsilon();  // generous
  std::vector<std::uint8_t> recheck(static_cast<std::size_t>(nq), 0);

  KnnResult out;
  out.k = k;
  out.index.resize(static_cast<std::size_t>(nq) * k);
  out.distance.resize(static_cast<std::size_t>(nq) * k);
  const auto finish_row = [&](std::int64_t q, std::vector<std::pair<double, std::int64_t>>& row) {
    const std::int64_t self = q_begin + q;
    // scikit-learn: of the k+1 nearest, drop the column equal to the sample index, else
    // (more than k duplicates of the sample) the first column.
    int drop = 0;
    for (int j = 0; j < cap; ++j)
      if (row[j].second == self) {
        drop = j;
        break;
      }
    for (int j = 0, m = 0; j < cap; ++j) {
      if (j == drop) continue;
      out.distance[q * k + m] = row[j].first;
      out.index[q * k + m] = row[j].second;
      ++m;
    }
  };
#pragma omp parallel num_threads(threads > 0 ? threads : omp_get_max_threads())
  {
    std::vector<std::pair<double, std::int64_t>> row(width);
#pragma omp for schedule(static)
    for (std::int64_t q = 0; q < nq; ++q) {
      const std::int64_t self = q_begin + q;
      const std::int64_t* c = &cand[q * width];
      const float* x = &points[self * d];
      // Exact distances in double from the coordinates, then the (distance, index) order.
      for (int j = 0; j < width; ++j) {
        SPECVAE_CHECK(c[j] >= 0 && c[j] < n, "kNN returned index {} for row {}", c[j], self);
        const float* y = &points[c[j] * d];
        double s = 0;
        for (int t = 0; t < d; ++t) {
          const double diff = static_cast<double>(x[t]) - static_cast<double>(y[t]);
          s += diff * diff;
        }
        row[j] = {std::sqrt(s), c[j]};
      }
      std::sort(row.begin(), row.end());
      if (float_ranked && width < n) {
        double xc2 = 0;
        for (int t = 0; t < d; ++t) {
          const double v = static_cast<double>(x[t]) - centre[static_cast<std::size_t>(t)];
          xc2 += v * v;
        }
        // A point that could displace the (k+1)-th lies within the last candidate's distance,
        // so its centred norm is at most ‖x‖ + that distance.
        const double d_last = row[width - 1].first, d_cap = row[cap - 1].first;
        const double y_max = std::sqrt(xc2) + d_last;
        const double err = gamma * (xc2 + y_max * y_max);
        if (!(d_last * d_last - d_cap * d_cap > 2.0 * err)) {
          recheck[static_cast<std::size_t>(q)] = 1;
          continue;
        }
      }
      finish_row(q, row);
    }
  }
  if (float_ranked) {
    std::vector<std::int64_t> again;
    for (std::int64_t q = 0; q < nq; ++q)
      if (recheck[static_cast<std::size_t>(q)]) again.push_back(q);
    if (!again.empty()) {
      // Exact: the k-d tree's candidates for those rows, re-ranked in double as above.
      const int w = static_cast<int>(std::min<std::int64_t>(n, cap + 4));
      KdTree tree(points, n, d);
      std::vector<std::int64_t> c(static_cast<std::size_t>(w));
      std::vector<float> cd(static_cast<std::size_t>(w));
      std::vector<std::pair<double, std::int64_t>> row(static_cast<std::size_t>(w));
      for (const std::int64_t q : again) {
        const std::int64_t self = q_begin + q;
        tree.query_rows(self, 1, w, c.data(), cd.data(), 1);
        const float* x = &points[self * d];
        for (int j = 0; j < w; ++j) {
          const float* y = &points[c[static_cast<std::size_t>(j)] * d];
          double s = 0;
          for (int t = 0; t < d; ++t) {
            const double diff = static_cast<double>(x[t]) - static_cast<double>(y[t]);
            s += diff * diff;
          }
          row[static_cast<std::size_t>(j)] = {std::sqrt(s), c[static_cast<std::size_t>(j)]};
        }
        std::sort(row.begin(), row.end());
        finish_row(q, row);
      }
      log::debug("kNN ({}): {} of {} rows searched again with the k-d tree (neighbours closer than the float "
                 "ranking resolves)",
                 knn_method_name(method), again.size(), nq);
    }
  }
  return out;
}

}  // namespace specvae::score
