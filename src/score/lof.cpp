// LOF over every row, on one process or distributed: all-gather points, local kNN, all-gather
// k-distances, local lrd, all-gather lrd, local LOF (the steps in neighbours/lof_steps.cpp).
// Never a combination of per-shard LOFs.
#include "specvae/score/lof.hpp"

#include <algorithm>
#include <chrono>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"

namespace specvae::score {

namespace {

void warn_on_duplicates(const std::vector<double>& nof_all) {
  // scikit-learn ≥ 1.6 warns the same way when duplicates blow the LOF up.
  if (!nof_all.empty() && *std::min_element(nof_all.begin(), nof_all.end()) < -1e7)
    log::warn("LOF: duplicate latent vectors are leading to extreme scores (min NOF < -1e7); "
              "increase score.lof_k for more meaningful results");
}

}  // namespace

LofResult distributed_lof(Communicator& comm, std::span<const float> local_points, int d, int k, KnnMethod method,
                          int threads, int gpu_device) {
  SPECVAE_CHECK(d > 0 && local_points.size() % d == 0, "{} floats are not rows of {}", local_points.size(), d);
  const auto n_local = static_cast<std::int64_t>(local_points.size() / d);
  LofResult r;
  r.row_begin = comm.exclusive_scan_sum(n_local);
  const std::vector<float> all = comm.allgatherv<float>(local_points);
  r.n_total = static_cast<std::int64_t>(all.size() / d);
  r.k = effective_k(k, r.n_total);

  const auto t0 = std::chrono::steady_clock::now();
  const KnnResult knn = knn_excluding_self(all, r.n_total, d, r.row_begin, n_local, r.k, method, threads, gpu_device);
  r.knn_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  r.k_distance = k_distances(knn);
  const std::vector<double> kdist_all = comm.allgatherv<double>(r.k_distance);
  r.lrd = local_reachability_density(knn, kdist_all);
  const std::vector<double> lrd_all = comm.allgatherv<double>(r.lrd);
  r.nof = negative_outlier_factor(knn, lrd_all, r.lrd);
  const double local_min = r.nof.empty() ? 0.0 : *std::min_element(r.nof.begin(), r.nof.end());
  const double global_min = comm.allreduce_min(local_min);  // collective: every rank calls it
  if (comm.rank() == 0) warn_on_duplicates({global_min});
  return r;
}

LofResult lof(std::span<const float> points, std::int64_t n, int d, int k, KnnMethod method, int threads) {
  LofResult r;
  r.n_total = n;
  r.k = effective_k(k, n);
  const auto t0 = std::chrono::steady_clock::now();
  const KnnResult knn = knn_excluding_self(points, n, d, 0, n, r.k, method, threads);
  r.knn_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.k_distance = k_distances(knn);
  r.lrd = local_reachability_density(knn, r.k_distance);
  r.nof = negative_outlier_factor(knn, r.lrd, r.lrd);
  warn_on_duplicates(r.nof);
  return r;
}

}  // namespace specvae::score
