// The PCA yardstick (pca_yardstick.hpp): a deterministic sample of training rows gathered on
// every rank, the eigenspectra of their covariance (the iterative-PCA fit ingest uses, with
// nothing masked: one pass), and the weighted MSE of every spectrum's projection.
#include "specvae/score/pca_yardstick.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/ingest/pca_infill.hpp"

namespace specvae::score {

PcaYardstick fit_pca_yardstick(Communicator& comm, const DatasetRows& local, std::int64_t n_total, int k,
                               std::int64_t sample) {
  SPECVAE_CHECK(k >= 1 && sample >= 1 && n_total >= 1, "k {} sample {} rows {}", k, sample, n_total);
  const int M = local.n_bins > 0 ? local.n_bins : 0;
  const std::int64_t S = std::min(sample, n_total);
  // This rank's sampled training rows, in global order: g_j = floor(j·N/S) for j < S.
  std::vector<float> mine;
  const std::int64_t lo = local.begin, hi = local.begin + local.count;
  // j with g_j ≥ lo: j ≥ ceil(lo·S/N).
  for (std::int64_t j = (lo * S + n_total - 1) / n_total; j < S; ++j) {
    const std::int64_t g = static_cast<std::int64_t>((static_cast<__int128>(j) * n_total) / S);
    if (g >= hi) break;
    if (g < lo) continue;
    const std::int64_t i = g - lo;
    if (local.split[i] != 0) continue;
    mine.insert(mine.end(), &local.flux[static_cast<std::size_t>(i) * M], &local.flux[static_cast<std::size_t>(i + 1) * M]);
  }
  // Every rank learns M from the ranks that hold rows (a rank without rows has n_bins 0).
  const std::vector<std::int64_t> bins = comm.allgather<std::int64_t>(M);
  const int n_bins = static_cast<int>(*std::max_element(bins.begin(), bins.end()));
  const std::vector<float> all = comm.allgatherv<float>(std::span<const float>(mine));
  PcaYardstick out;
  out.n_bins = n_bins;
  out.sample_rows = n_bins > 0 ? static_cast<std::int64_t>(all.size()) / n_bins : 0;
  if (out.sample_rows < 2) {
    // Too few training spectra for eigenspectra (a survey of a handful of spectra): no
    // yardstick, pca_mse is NaN (merge ranks it last and says so).
    log::warn("score: {} training spectra among the {} sampled rows: too few for the PCA yardstick; pca_mse is NaN",
              out.sample_rows, S);
    out.k = 0;
    out.mean.assign(static_cast<std::size_t>(n_bins), 0.0);
    return out;
  }
  const std::vector<std::uint8_t> no_mask(all.size(), 0);
  const int n_ev = static_cast<int>(std::min<std::int64_t>(k, std::min<std::int64_t>(out.sample_rows - 1, n_bins)));
  const ingest::PcaModel m = ingest::fit_iterative_pca(all, no_mask, out.sample_rows, n_bins, n_ev, /*n_iter=*/1);
  out.k = m.n_ev;
  out.mean = m.mean;
  out.evecs = m.evecs;
  return out;
}

std::vector<double> pca_mse(const PcaYardstick& pca, const DatasetRows& rows) {
  const int M = pca.n_bins, K = pca.k;
  if (K == 0) return std::vector<double>(static_cast<std::size_t>(rows.count), std::nan(""));
  if (rows.count > 0 && rows.n_bins != M)
    throw InputError(fmt::format("dataset has {} bins per spectrum, the PCA yardstick {}", rows.n_bins, M));
  std::vector<double> out(static_cast<std::size_t>(rows.count));
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < rows.count; ++i) {
    const std::size_t r = static_cast<std::size_t>(i) * M;
    std::vector<double> d(M), c(K, 0.0);
    for (int j = 0; j < M; ++j) d[j] = static_cast<double>(rows.flux[r + j]) - pca.mean[j];
    for (int q = 0; q < K; ++q) {
      const double* e = &pca.evecs[static_cast<std::size_t>(q) * M];
      double s = 0;
      for (int j = 0; j < M; ++j) s += d[j] * e[j];
      c[q] = s;
    }
    double sse = 0;
    for (int j = 0; j < M; ++j) {
      double res = d[j];
      for (int q = 0; q < K; ++q) res -= c[q] * pca.evecs[static_cast<std::size_t>(q) * M + j];
      const double w = rows.mask[r + j] ? 0.0 : static_cast<double>(rows.ivar[r + j]);
      sse += w * res * res;
    }
    out[static_cast<std::size_t>(i)] = sse / static_cast<double>(M);
  }
  return out;
}

}  // namespace specvae::score
