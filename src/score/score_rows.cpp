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
                     std::int64_t batch_size) {
  const int M = vae.shape().n_input, L = vae.shape().latent;
  if (rows.n_bins != M && rows.count > 0)
    throw InputError(fmt::format("dataset has {} bins per spectrum, the model expects {}", rows.n_bins, M));
  SPECVAE_CHECK(recon_samples >= 1 && batch_size >= 1, "recon_samples {} batch {}", recon_samples, batch_size);
  const std::int64_t n = rows.count;
  RowScores out;
  out.mse.resize(n);
  out.recon_logprob.resize(n);
  out.mu.resize(static_cast<std::size_t>(n) * L);
  out.logvar.resize(static_cast<std::size_t>(n) * L);
  // On a GPU every pass runs on exactly `batch_size` rows, the last batch padded with zeros:
  // cuBLAS picks its kernel (and with it the order of the sums) by the number of rows, and
  // the rows a rank's last batch holds depend on the rank count. A spectrum's scores are then
  // the same whichever batch it lands in, as on the CPU, whose GEMM is batch-invariant.
  const bool pad = !vae.backend().host_memory() && n > 0;
  const std::int64_t B = pad ? batch_size : std::min<std::int64_t>(batch_size, std::max<std::int64_t>(n, 1));
  std::vector<float> w(static_cast<std::size_t>(B) * M), xhat(static_cast<std::size_t>(B) * M), z(B * L);
  std::vector<double> logp(static_cast<std::size_t>(B) * recon_samples), norm_term(B);
  std::vector<float> x_pad, mu_pad, lv_pad;  // the last batch's rows padded to B (GPU only)
  const double log2pi = std::log(2.0 * std::numbers::pi);

  for (std::int64_t b0 = 0; b0 < n; b0 += B) {
    const std::int64_t m = std::min(B, n - b0);
    const bool padded = pad && m < B;
    const std::int64_t mp = pad ? B : m;  // rows of each model pass
    const float* x = &rows.flux[b0 * M];
    if (padded) {
      x_pad.assign(static_cast<std::size_t>(B) * M, 0.0f);
      std::copy_n(x, m * M, x_pad.begin());
      mu_pad.assign(static_cast<std::size_t>(B) * L, 0.0f);
      lv_pad.assign(static_cast<std::size_t>(B) * L, 0.0f);
      std::fill(z.begin(), z.end(), 0.0f);
    }
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < m; ++i) {
      double norm = 0;
      for (int j = 0; j < M; ++j) {
        const std::size_t e = static_cast<std::size_t>(b0 + i) * M + j;
        const float wj = rows.mask[e] ? 0.0f : rows.ivar[e];
        w[i * M + j] = wj;
        if (wj > 0) norm += std::log(static_cast<double>(wj)) - log2pi;
      }
      norm_term[i] = 0.5 * norm;  // ½ Σ_{w>0} log(w / 2π)
    }
    float* mu = padded ? mu_pad.data() : &out.mu[b0 * L];
    float* lv = padded ? lv_pad.data() : &out.logvar[b0 * L];
    vae.encode(std::span<const float>(padded ? x_pad.data() : x, mp * M), mp, std::span<float>(mu, mp * L),
               std::span<float>(lv, mp * L));
    if (padded) {
      std::copy_n(mu, m * L, &out.mu[b0 * L]);
      std::copy_n(lv, m * L, &out.logvar[b0 * L]);
    }
    const auto weighted_sse = [&](std::int64_t i) {
      double s = 0;
      for (int j = 0; j < M; ++j) {
        const double d = static_cast<double>(x[i * M + j]) - static_cast<double>(xhat[i * M + j]);
        s += static_cast<double>(w[i * M + j]) * d * d;
      }
      return s;
    };
    vae.decode(std::span<const float>(mu, mp * L), mp, std::span<float>(xhat.data(), mp * M));
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < m; ++i) out.mse[b0 + i] = weighted_sse(i) / static_cast<double>(M);

    for (int l = 0; l < recon_samples; ++l) {
      const rng::StreamKey key{seed, static_cast<std::uint32_t>(l), rng::kScoreNoise};
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < m; ++i) {
        const auto row = static_cast<std::uint64_t>(rows.begin + b0 + i);
        for (int j = 0; j < L; ++j)
          z[i * L + j] = mu[i * L + j] + std::exp(0.5f * lv[i * L + j]) * rng::normal(key, row, static_cast<std::uint32_t>(j));
      }
      vae.decode(std::span<const float>(z.data(), mp * L), mp, std::span<float>(xhat.data(), mp * M));
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < m; ++i) logp[i * recon_samples + l] = -0.5 * weighted_sse(i) + norm_term[i];
    }
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < m; ++i) {
      const double* lp = &logp[i * recon_samples];
      const double top = *std::max_element(lp, lp + recon_samples);
      double s = 0;
      for (int l = 0; l < recon_samples; ++l) s += std::exp(lp[l] - top);
      out.recon_logprob[b0 + i] = top + std::log(s) - std::log(static_cast<double>(recon_samples));
    }
  }
  return out;
}

}  // namespace specvae::score
