// The latent-space kernels: reparameterisation (noise from the same Philox stream as the
// CPU, keyed by global sample id) and the KL term. The latent is small (10), so one thread
// per element (reparameterisation) or per row (KL) is plenty; arithmetic follows the CPU
// reference in double so the two agree to float rounding.
#include "cuda_check.cuh"
#include "block_reduce.cuh"
#include "latent_ops.h"

namespace specvae::kernels {
namespace {
constexpr int kBlock = 256;

__global__ void reparameterize_kernel(const float* __restrict__ mu_logvar, int m, int latent, rng::StreamKey key,
                                      const std::int64_t* __restrict__ ids, float* __restrict__ eps,
                                      float* __restrict__ z) {
  const std::size_t total = static_cast<std::size_t>(m) * latent;
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t i = idx / static_cast<std::size_t>(latent);
    const int j = static_cast<int>(idx - i * latent);
    const float mu = mu_logvar[i * 2 * latent + j];
    const float lv = mu_logvar[i * 2 * latent + latent + j];
    const float e = rng::normal(key, static_cast<std::uint64_t>(ids[i]), static_cast<std::uint32_t>(j));
    eps[idx] = e;
    z[idx] = static_cast<float>(mu + exp(0.5 * lv) * e);
  }
}

__global__ void reparameterize_backward_kernel(const float* __restrict__ dz, const float* __restrict__ mu_logvar,
                                               const float* __restrict__ eps, int m, int latent,
                                               float* __restrict__ d_mu_logvar) {
  const std::size_t total = static_cast<std::size_t>(m) * latent;
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t i = idx / static_cast<std::size_t>(latent);
    const std::size_t mi = i * 2 * latent + (idx - i * latent);
    const double lv = mu_logvar[mi + latent];
    d_mu_logvar[mi] = static_cast<float>(d_mu_logvar[mi] + static_cast<double>(dz[idx]));
    d_mu_logvar[mi + latent] = static_cast<float>(d_mu_logvar[mi + latent] +
                                                  dz[idx] * static_cast<double>(eps[idx]) * 0.5 * exp(0.5 * lv));
  }
}

__global__ void kl_kernel(const float* __restrict__ mu_logvar, int m, int latent, float weight, float grad_scale,
                          float* __restrict__ d_mu_logvar, float* __restrict__ per_sample) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < m; i += gridDim.x * blockDim.x) {
    double acc = 0.0;
    const std::size_t row = static_cast<std::size_t>(i) * 2 * latent;
    const double gw = static_cast<double>(grad_scale) * weight;
    for (int j = 0; j < latent; ++j) {
      const double mu = mu_logvar[row + j], lv = mu_logvar[row + latent + j];
      const double elv = exp(lv);
      acc += 1.0 + lv - mu * mu - elv;
      d_mu_logvar[row + j] = static_cast<float>(gw * mu);
      d_mu_logvar[row + latent + j] = static_cast<float>(gw * 0.5 * (elv - 1.0));
    }
    per_sample[i] = static_cast<float>(-0.5 * acc);
  }
}
}  // namespace

void launch_reparameterize(const float* mu_logvar, int m, int latent, const rng::StreamKey& key,
                           const std::int64_t* sample_ids, float* eps, float* z, cudaStream_t stream) {
  if (m <= 0 || latent <= 0) return;
  const std::size_t total = static_cast<std::size_t>(m) * latent;
  reparameterize_kernel<<<grid_for(total, kBlock), kBlock, 0, stream>>>(mu_logvar, m, latent, key, sample_ids, eps, z);
  SPECVAE_LAUNCH_CHECK(stream);
}

void launch_reparameterize_backward(const float* dz, const float* mu_logvar, const float* eps, int m, int latent,
                                    float* d_mu_logvar, cudaStream_t stream) {
  if (m <= 0 || latent <= 0) return;
  const std::size_t total = static_cast<std::size_t>(m) * latent;
  reparameterize_backward_kernel<<<grid_for(total, kBlock), kBlock, 0, stream>>>(dz, mu_logvar, eps, m, latent,
                                                                                 d_mu_logvar);
  SPECVAE_LAUNCH_CHECK(stream);
}

void launch_kl_divergence(const float* mu_logvar, int m, int latent, float weight, float grad_scale,
                          float* d_mu_logvar, float* per_sample, cudaStream_t stream) {
  if (m <= 0) return;
  kl_kernel<<<grid_for(static_cast<std::size_t>(m), kBlock), kBlock, 0, stream>>>(mu_logvar, m, latent, weight,
                                                                                  grad_scale, d_mu_logvar, per_sample);
  SPECVAE_LAUNCH_CHECK(stream);
}

}  // namespace specvae::kernels
