// The reference backend: plain loops with double accumulation, one thread. It defines what
// every other backend must compute; tests compare them op by op.
#pragma once

#include "host_memory.hpp"

namespace specvae::model {

class ReferenceBackend final : public HostMemoryBackend {
 public:
  std::string name() const override { return "reference"; }
  BackendKind kind() const override { return BackendKind::Reference; }
  std::string describe() const override { return "reference (plain loops, double accumulation)"; }
  void fill_zero(float* x, std::size_t n) override;
  void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
            int ldb, float beta, float* c, int ldc) override;
  void linear_forward(const float* x, int ldx, const float* w, const float* b, int m, int n, int k, Activation act,
                      float* y) override;
  void bias_activation_forward(float* y, const float* bias, int m, int n, Activation act) override;
  void activation_backward(float* dy, const float* y, int m, int n, Activation act) override;
  void bias_grad(const float* dy, int m, int n, float* db, bool accumulate) override;
  void dropout_forward(float* y, float* keep_scale, int m, int n, float rate, const rng::StreamKey& key,
                       std::span<const std::int64_t> sample_ids) override;
  void dropout_backward(float* dy, const float* keep_scale, int m, int n) override;
  void reparameterize(const float* mu_logvar, int m, int latent, const rng::StreamKey& key,
                      std::span<const std::int64_t> sample_ids, float* eps, float* z) override;
  void reparameterize_backward(const float* dz, const float* mu_logvar, const float* eps, int m, int latent,
                               float* d_mu_logvar) override;
  void gaussian_loss(const float* x, const float* w, const float* xhat, int m, int n, float grad_scale, float* dxhat,
                     float* per_sample) override;
  void kl_divergence(const float* mu_logvar, int m, int latent, float weight, float grad_scale, float* d_mu_logvar,
                     float* per_sample) override;
  void adam_step(float* params, const float* grads, float* m, float* v, std::size_t n, const AdamParams& p) override;
  double sum_squares(const float* x, std::size_t n) override;
};

}  // namespace specvae::model
