// One training (or evaluation) pass of the VAE over a batch on a backend: forward with
// dropout and the reparameterisation trick, the loss −ELBO per spectrum, and the gradient
// into a flat buffer laid out like the parameters. Randomness is keyed by (seed, step,
// global sample id), so splitting a batch over ranks does not change any draw.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "specvae/model/backend.hpp"
#include "specvae/model/vae.hpp"

namespace specvae::model {

struct BatchLoss {
  double recon_sum = 0;  // Σ_i ½ Σ_j w (x − x̂)² over this batch's rows
  double kl_sum = 0;     // Σ_i KL_i
  double mse_sum = 0;    // Σ_i (1/M) Σ_j w (x − x̂)² at z = μ (evaluate with eq6 only)
};

struct PassOptions {
  bool training = true;          // dropout on, gradients computed
  std::uint64_t seed = 0;
  std::uint32_t step = 0;        // key of this step's draws
  std::uint32_t noise_purpose = rng::kNoise;
  float kl_weight = 1.0f;
  float grad_scale = 1.0f;       // 1 / global batch size: per-spectrum mean
  bool eq6 = false;              // also the weighted MSE of the decoder at z = μ (paper Eq. 6)
};

class VaeGraph {
 public:
  VaeGraph(const VaeShape& shape, Backend& backend, int max_rows);

  // x, w: device buffers [m×n_input] (w = ivar·(1−mask)); sample_ids: the m rows' global ids.
  // When opts.training, writes the gradient of (Σ recon + kl_weight Σ KL)·grad_scale into
  // grads (device, n_params, overwritten). per-sample losses are returned summed in double.
  BatchLoss run(const float* params, const float* x, const float* w, int m, std::span<const std::int64_t> sample_ids,
                const PassOptions& opts, float* grads);

  int max_rows() const { return max_rows_; }
  // Per-row values of the last pass (host copies), for tests and per-class metrics.
  const std::vector<float>& last_recon() const { return recon_host_; }
  const std::vector<float>& last_kl() const { return kl_host_; }
  const std::vector<float>& last_mse() const { return mse_host_; }

 private:
  VaeShape shape_;
  std::vector<LayerShape> layers_;
  Backend& be_;
  int max_rows_;
  std::vector<DeviceBuffer> acts_, keep_;
  DeviceBuffer eps_, z_, dmulv_, grad_a_, grad_b_, recon_, kl_, mse_, dummy_;
  std::vector<float> recon_host_, kl_host_, mse_host_;
};

}  // namespace specvae::model
