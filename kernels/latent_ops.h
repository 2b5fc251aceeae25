// Launchers of the latent-space kernels (kernels/latent_ops.cu): the reparameterisation trick
// and its backward, and the KL divergence to N(0, I) with its gradient. mu_logvar rows hold
// μ then log σ² ([m×2L]); z, eps are [m×L]; per-sample outputs are [m].
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "specvae/core/rng.hpp"

namespace specvae::kernels {

// eps = rng::normal(key, sample_ids[i], j); z = μ + exp(½ log σ²) · eps (in double, as the CPU).
void launch_reparameterize(const float* mu_logvar, int m, int latent, const rng::StreamKey& key,
                           const std::int64_t* sample_ids, float* eps, float* z, cudaStream_t stream);

// d_mu_logvar += (dz, dz · eps · ½ exp(½ log σ²)).
void launch_reparameterize_backward(const float* dz, const float* mu_logvar, const float* eps, int m, int latent,
                                    float* d_mu_logvar, cudaStream_t stream);

// per_sample[i] = −½ Σ_j (1 + lv − μ² − e^lv) (double); d_mu_logvar ← grad_scale · weight ·
// (μ, ½(e^lv − 1)) (overwritten).
void launch_kl_divergence(const float* mu_logvar, int m, int latent, float weight, float grad_scale,
                          float* d_mu_logvar, float* per_sample, cudaStream_t stream);

}  // namespace specvae::kernels
