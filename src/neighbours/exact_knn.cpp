// The re-rank every kNN method ends in (see specvae/neighbours/exact_knn.hpp).
#include "specvae/neighbours/exact_knn.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <omp.h>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/neighbours/kdtree.hpp"

namespace specvae::neighbours {

KnnResult exact_neighbours(std::span<const float> points, std::int64_t n, int d, std::int64_t q_begin,
                           std::int64_t nq, int k, std::span<const std::int64_t> cand, int width, bool float_ranked,
                           std::string_view source, int threads) {
  SPECVAE_CHECK(d > 0 && n >= 0 && static_cast<std::int64_t>(points.size()) == n * d, "points: {} floats for {}×{}",
                points.size(), n, d);
  SPECVAE_CHECK(k >= 1 && k <= n - 1, "k = {} needs 1 ≤ k ≤ n−1 with n = {}", k, n);
  SPECVAE_CHECK(q_begin >= 0 && nq >= 0 && q_begin + nq <= n, "queries [{}, {}) outside [0, {})", q_begin,
                q_begin + nq, n);
  const int cap = k + 1;  // the query itself is among its own k+1 nearest, as in scikit-learn
  SPECVAE_CHECK(width >= cap && width <= n && static_cast<std::int64_t>(cand.size()) == nq * width,
                "{} candidates for {} queries × {} (k = {})", cand.size(), nq, width, k);
  // The brute force, FAISS and the GPU rank candidates by the expanded form ‖x‖² + ‖y‖² − 2·x·y in
  // float (centred on the mean). Its rounding, up to ≈ γ·(‖x‖² + ‖y‖²), can push a true
  // neighbour behind the spare candidates when it exceeds the gap between the (k+1)-th and
  // the last candidate's exact distance² (a cluster far tighter than its distance from the
  // mean). Such rows are found below and searched again with the k-d tree, which ranks by
  // Σ(x − y)² and is exact to rounding.
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
                 source, again.size(), nq);
    }
  }
  return out;
}

KnnResult kdtree_neighbours(std::span<const float> points, std::int64_t n, int d, std::int64_t q_begin,
                            std::int64_t nq, int k, int threads) {
  SPECVAE_CHECK(k >= 1 && k <= n - 1, "k = {} needs 1 ≤ k ≤ n−1 with n = {}", k, n);
  SPECVAE_CHECK(q_begin >= 0 && nq >= 0 && q_begin + nq <= n, "queries [{}, {}) outside [0, {})", q_begin,
                q_begin + nq, n);
  // The k-d tree ranks by float distance²: at 200k points a few queries per run have their
  // (k+1)-th and (k+2)-th neighbours within float rounding of each other, so 4 spare
  // candidates are fetched and the exact double re-rank decides.
  const int width = static_cast<int>(std::min<std::int64_t>(n, k + 1 + 4));
  std::vector<std::int64_t> cand(static_cast<std::size_t>(nq) * width, -1);
  std::vector<float> cand_d(cand.size(), std::numeric_limits<float>::infinity());
  const KdTree tree(points, n, d);
  tree.query_rows(q_begin, nq, width, cand.data(), cand_d.data(), threads);
  return exact_neighbours(points, n, d, q_begin, nq, k, cand, width, false, "kdtree", threads);
}

}  // namespace specvae::neighbours
