// The model-based scores of a block of spectra: one encoder pass, the decoder at z = μ for
// the weighted MSE, and L decoder passes at sampled z for the reconstruction probability,
// whose per-sample log-likelihoods are combined with log-sum-exp in float64 (they are of
// order −10⁴ for real spectra, so exp() of them alone would underflow).
#include <algorithm>
#include <cmath>
#include <numbers>

#include "specvae/core/error.hpp"
#include "specvae/core/rng.hpp"
#include "specvae/score/score.hpp"

namespace specvae::score {

RowScores score_rows(model::Vae& vae, const DatasetRows& rows, int recon_samples, std::uint64_t seed,
                     std::int64_t batch_size, Progress* progress) {
  const int M = vae.shape().n_input, L = vae.shape().latent;
  if (rows.n_bins != M && rows.count > 0)
    throw InputError(fmt::format("dataset has {} bins per spectrum, the model expects {}", rows.n_bins, M));
  SPECVAE_CHECK(recon_samples >= 1 && batch_size >= 1, "recon_samples {} batch {}", recon_samples, batch_size);
  const std::int64_t n = rows.count, begin = rows.begin;
  RowScores out;
  out.mse.resize(n);
  out.recon_logprob.resize(n);
  out.mu.resize(static_cast<std::size_t>(n) * L);
  out.logvar.resize(static_cast<std::size_t>(n) * L);
  if (n == 0) return out;
  // A spectrum's scores must not depend on which spectra share its pass, so that the catalogue
  // is the same for any rank count, on any BLAS kernel and on a GPU. Passes are blocks of the
  // GLOBAL row index, [g, g + B) with g a multiple of B, always of B rows (a shard's first and
  // last blocks are filled with zero rows): global row r is always at place r mod B of a pass
  // of B rows, and each model pass (a fixed-tile GEMM on the CPU, cpu_gemm.hpp; cuBLAS with a
  // fixed shape on a GPU) computes it the same way whatever the rank count.
  const std::int64_t B = batch_size;
  const std::size_t BM = static_cast<std::size_t>(B) * M, BL = static_cast<std::size_t>(B) * L;
  std::vector<float> x_pad, w(BM), xhat(BM), z(BL), mu(BL), lv(BL);
  std::vector<double> logp(static_cast<std::size_t>(B) * recon_samples), norm_term(B);
  const double log2pi = std::log(2.0 * std::numbers::pi);

  for (std::int64_t g = (begin / B) * B; g < begin + n; g += B) {
    const std::int64_t first = std::max(g, begin), last = std::min(g + B, begin + n);
    const std::int64_t off = first - g, m = last - first, i0 = first - begin;  // places [off, off + m) ← local rows i0…
    const float* x = &rows.flux[static_cast<std::size_t>(i0) * M];
    if (m < B) {
      x_pad.assign(BM, 0.0f);
      std::copy_n(x, static_cast<std::size_t>(m) * M, &x_pad[static_cast<std::size_t>(off) * M]);
      x = x_pad.data();
    }
#pragma omp parallel for schedule(static)
    for (std::int64_t p = off; p < off + m; ++p) {
      double norm = 0;
      const std::size_t src = static_cast<std::size_t>(i0 + p - off) * M;
      for (int j = 0; j < M; ++j) {
        const float wj = rows.mask[src + j] ? 0.0f : rows.ivar[src + j];
        w[p * M + j] = wj;
        if (wj > 0) norm += std::log(static_cast<double>(wj)) - log2pi;
      }
      norm_term[p] = 0.5 * norm;  // ½ Σ_{w>0} log(w / 2π)
    }
    vae.encode(std::span<const float>(x, BM), B, std::span<float>(mu), std::span<float>(lv));
    std::copy_n(&mu[static_cast<std::size_t>(off) * L], m * L, &out.mu[static_cast<std::size_t>(i0) * L]);
    std::copy_n(&lv[static_cast<std::size_t>(off) * L], m * L, &out.logvar[static_cast<std::size_t>(i0) * L]);
    const auto weighted_sse = [&](std::int64_t p) {
      double s = 0;
      for (int j = 0; j < M; ++j) {
        const double d = static_cast<double>(x[p * M + j]) - static_cast<double>(xhat[p * M + j]);
        s += static_cast<double>(w[p * M + j]) * d * d;
      }
      return s;
    };
    vae.decode(std::span<const float>(mu), B, std::span<float>(xhat));
#pragma omp parallel for schedule(static)
    for (std::int64_t p = off; p < off + m; ++p) out.mse[i0 + p - off] = weighted_sse(p) / static_cast<double>(M);

    for (int l = 0; l < recon_samples; ++l) {
      const rng::StreamKey key{seed, static_cast<std::uint32_t>(l), rng::kScoreNoise};
      // Every place gets its global row's noise; the padding places' z are finite and unused.
#pragma omp parallel for schedule(static)
      for (std::int64_t p = 0; p < B; ++p) {
        const auto row = static_cast<std::uint64_t>(g + p);
        for (int j = 0; j < L; ++j)
          z[p * L + j] = mu[p * L + j] + std::exp(0.5f * lv[p * L + j]) * rng::normal(key, row, static_cast<std::uint32_t>(j));
      }
      vae.decode(std::span<const float>(z), B, std::span<float>(xhat));
#pragma omp parallel for schedule(static)
      for (std::int64_t p = off; p < off + m; ++p) logp[p * recon_samples + l] = -0.5 * weighted_sse(p) + norm_term[p];
    }
#pragma omp parallel for schedule(static)
    for (std::int64_t p = off; p < off + m; ++p) {
      const double* lp = &logp[p * recon_samples];
      const double top = *std::max_element(lp, lp + recon_samples);
      double s = 0;
      for (int l = 0; l < recon_samples; ++l) s += std::exp(lp[l] - top);
      out.recon_logprob[i0 + p - off] = top + std::log(s) - std::log(static_cast<double>(recon_samples));
    }
    if (progress) progress->advance(m);
  }
  return out;
}

}  // namespace specvae::score
