// Reference implementations of every backend op: the definitions the CPU (and CUDA) backends
// are tested against. Clarity over speed; sums in double.
#include "reference_backend.hpp"

#include <cmath>

#include "specvae/core/error.hpp"

namespace specvae::model {

void ReferenceBackend::fill_zero(float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) x[i] = 0.0f;
}

void ReferenceBackend::gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                            const float* b, int ldb, float beta, float* c, int ldc) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double acc = 0;
      for (int p = 0; p < k; ++p) {
        const double av = trans_a ? a[static_cast<std::size_t>(p) * lda + i] : a[static_cast<std::size_t>(i) * lda + p];
        const double bv = trans_b ? b[static_cast<std::size_t>(j) * ldb + p] : b[static_cast<std::size_t>(p) * ldb + j];
        acc += av * bv;
      }
      float& cv = c[static_cast<std::size_t>(i) * ldc + j];
      cv = static_cast<float>(alpha * acc + (beta == 0.0f ? 0.0 : static_cast<double>(beta) * cv));
    }
}

void ReferenceBackend::linear_forward(const float* x, int ldx, const float* w, const float* b, int m, int n, int k,
                                      Activation act, float* y) {
  gemm(false, true, m, n, k, 1.0f, x, ldx, w, k, 0.0f, y, n);
  bias_activation_forward(y, b, m, n, act);
}

void ReferenceBackend::bias_activation_forward(float* y, const float* bias, int m, int n, Activation act) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float& v = y[static_cast<std::size_t>(i) * n + j];
      v += bias[j];
      if (act == Activation::Relu && !(v > 0.0f)) v = 0.0f;
    }
}

void ReferenceBackend::activation_backward(float* dy, const float* y, int m, int n, Activation act) {
  if (act == Activation::Identity) return;
  for (std::size_t i = 0; i < static_cast<std::size_t>(m) * n; ++i)
    if (!(y[i] > 0.0f)) dy[i] = 0.0f;
}

void ReferenceBackend::bias_grad(const float* dy, int m, int n, float* db, bool accumulate) {
  for (int j = 0; j < n; ++j) {
    double acc = accumulate ? db[j] : 0.0;
    for (int i = 0; i < m; ++i) acc += dy[static_cast<std::size_t>(i) * n + j];
    db[j] = static_cast<float>(acc);
  }
}

void ReferenceBackend::dropout_forward(float* y, float* keep_scale, int m, int n, float rate,
                                       const rng::StreamKey& key, std::span<const std::int64_t> sample_ids) {
  SPECVAE_CHECK(sample_ids.size() >= static_cast<std::size_t>(m), "dropout: {} sample ids for {} rows",
                sample_ids.size(), m);
  const float scale = 1.0f / (1.0f - rate);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      const std::size_t idx = static_cast<std::size_t>(i) * n + j;
      const rng::Philox4x32 b = rng::block(key, static_cast<std::uint64_t>(sample_ids[i]), static_cast<std::uint32_t>(j) >> 3);
      keep_scale[idx] = rng::bits16(b, static_cast<std::uint32_t>(j)) >= rng::dropout_threshold(rate) ? scale : 0.0f;
      y[idx] *= keep_scale[idx];
    }
}

void ReferenceBackend::dropout_backward(float* dy, const float* keep_scale, int m, int n) {
  for (std::size_t i = 0; i < static_cast<std::size_t>(m) * n; ++i) dy[i] *= keep_scale[i];
}

void ReferenceBackend::reparameterize(const float* mu_logvar, int m, int latent, const rng::StreamKey& key,
                                      std::span<const std::int64_t> sample_ids, float* eps, float* z) {
  SPECVAE_CHECK(sample_ids.size() >= static_cast<std::size_t>(m), "reparameterize: {} ids for {} rows",
                sample_ids.size(), m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < latent; ++j) {
      const float mu = mu_logvar[static_cast<std::size_t>(i) * 2 * latent + j];
      const float lv = mu_logvar[static_cast<std::size_t>(i) * 2 * latent + latent + j];
      const float e = rng::normal(key, static_cast<std::uint64_t>(sample_ids[i]), static_cast<std::uint32_t>(j));
      eps[static_cast<std::size_t>(i) * latent + j] = e;
      z[static_cast<std::size_t>(i) * latent + j] = static_cast<float>(mu + std::exp(0.5 * lv) * e);
    }
}

void ReferenceBackend::reparameterize_backward(const float* dz, const float* mu_logvar, const float* eps, int m,
                                               int latent, float* d_mu_logvar) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < latent; ++j) {
      const std::size_t zi = static_cast<std::size_t>(i) * latent + j;
      const std::size_t mi = static_cast<std::size_t>(i) * 2 * latent + j;
      const double lv = mu_logvar[mi + latent];
      d_mu_logvar[mi] = static_cast<float>(d_mu_logvar[mi] + static_cast<double>(dz[zi]));
      d_mu_logvar[mi + latent] =
          static_cast<float>(d_mu_logvar[mi + latent] + dz[zi] * static_cast<double>(eps[zi]) * 0.5 * std::exp(0.5 * lv));
    }
}

void ReferenceBackend::gaussian_loss(const float* x, const float* w, const float* xhat, int m, int n,
                                     float grad_scale, float* dxhat, float* per_sample) {
  for (int i = 0; i < m; ++i) {
    double acc = 0;
    for (int j = 0; j < n; ++j) {
      const std::size_t idx = static_cast<std::size_t>(i) * n + j;
      const double r = static_cast<double>(xhat[idx]) - x[idx];
      acc += w[idx] * r * r;
      dxhat[idx] = static_cast<float>(grad_scale * static_cast<double>(w[idx]) * r);
    }
    per_sample[i] = static_cast<float>(0.5 * acc);
  }
}

void ReferenceBackend::kl_divergence(const float* mu_logvar, int m, int latent, float weight, float grad_scale,
                                     float* d_mu_logvar, float* per_sample) {
  for (int i = 0; i < m; ++i) {
    double acc = 0;
    for (int j = 0; j < latent; ++j) {
      const std::size_t mi = static_cast<std::size_t>(i) * 2 * latent + j;
      const double mu = mu_logvar[mi], lv = mu_logvar[mi + latent];
      acc += 1.0 + lv - mu * mu - std::exp(lv);
      d_mu_logvar[mi] = static_cast<float>(static_cast<double>(grad_scale) * weight * mu);
      d_mu_logvar[mi + latent] = static_cast<float>(static_cast<double>(grad_scale) * weight * 0.5 * (std::exp(lv) - 1.0));
    }
    per_sample[i] = static_cast<float>(-0.5 * acc);
  }
}

void ReferenceBackend::adam_step(float* params, const float* grads, float* m, float* v, std::size_t n,
                                 const AdamParams& p) {
  const double bc1 = 1.0 - std::pow(static_cast<double>(p.beta1), static_cast<double>(p.t));
  const double bc2 = 1.0 - std::pow(static_cast<double>(p.beta2), static_cast<double>(p.t));
  for (std::size_t i = 0; i < n; ++i) {
    const double g = grads[i];
    const double mi = p.beta1 * static_cast<double>(m[i]) + (1.0 - p.beta1) * g;
    const double vi = p.beta2 * static_cast<double>(v[i]) + (1.0 - p.beta2) * g * g;
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    params[i] = static_cast<float>(params[i] - p.lr * (mi / bc1) / (std::sqrt(vi / bc2) + p.eps));
  }
}

double ReferenceBackend::sum_squares(const float* x, std::size_t n) {
  double acc = 0;
  for (std::size_t i = 0; i < n; ++i) acc += static_cast<double>(x[i]) * x[i];
  return acc;
}

}  // namespace specvae::model
