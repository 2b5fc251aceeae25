// The CPU backend: SGEMM from the chosen BLAS library and fused OpenMP element-wise ops.
// Every reduction has a fixed order (per row or per column), so results do not depend on
// the number of threads.
#pragma once

#include <cstdint>

#include "specvae/model/cpu_gemm.hpp"
#include "host_memory.hpp"

namespace specvae::model {

namespace detail {
// The two implementations of one row of dropout keep-scales behind CpuBackend::dropout_forward
// (the AVX-512 one, F + BW, only where the CPU has it), exposed so tests check both on any machine.
// c1..c3: words 1-3 of the Philox counter; k0, k1: the key.
void dropout_row_scalar(float* y, float* keep, int n, std::uint32_t c1, std::uint32_t c2, std::uint32_t c3,
                        std::uint32_t k0, std::uint32_t k1, std::uint32_t threshold, float scale);
void dropout_row_avx512(float* y, float* keep, int n, std::uint32_t c1, std::uint32_t c2, std::uint32_t c3,
                        std::uint32_t k0, std::uint32_t k1, std::uint32_t threshold, float scale);
}  // namespace detail

class CpuBackend final : public HostMemoryBackend {
 public:
  // threads: OpenMP and BLAS threads (0 = OpenMP default); gemm: train.gemm, or
  // "batch-invariant" for scoring: every GEMM in fixed tiles (cpu_gemm.hpp), so a row's
  // results depend only on the number of rows in the pass and its place among them.
  explicit CpuBackend(int threads = 0, const std::string& gemm = "auto");
  std::string name() const override { return "cpu"; }
  BackendKind kind() const override { return BackendKind::Cpu; }
  std::string describe() const override;
  int threads() const { return threads_; }
  const GemmLibraryInfo& gemm_info() const { return gemm_; }

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
  void dropout_activation_backward(float* dy, const float* y, const float* keep_scale, int m, int n,
                                   Activation act) override;
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
  double adam_step_checked(float* params, const float* grads, float* m, float* v, std::size_t n,
                           const AdamParams& p) override;

 private:
  // C = op(A)·op(B) through the chosen library; in fixed tiles when batch_invariant_.
  void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
             int ldb, float beta, float* c, int ldc);

  int threads_;
  GemmLibraryInfo gemm_;
  bool batch_invariant_;  // gemm = "batch-invariant" (scoring): cpu_sgemm_fixed_tiles
};

}  // namespace specvae::model
