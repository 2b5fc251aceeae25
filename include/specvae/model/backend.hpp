// The narrow set of numeric ops the VAE needs for training and scoring, behind one interface
// (ggml-style): a reference backend (plain loops, double accumulation, for tests), a CPU
// backend (SGEMM + fused OpenMP element-wise ops) and, later, a CUDA backend owning its
// device, streams and handles through GpuResources. Matrices are row-major; every pointer
// passed to an op lives in the backend's memory (host memory for the CPU backends).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "specvae/core/rng.hpp"

namespace specvae::model {

enum class Activation { Identity, Relu };

// What a backend is, for the code that must treat device memory differently (the trainer's
// device-resident rows, the gradient all-reduce, the kNN's device choice): asked of the
// backend, never read from its name.
enum class BackendKind { Reference, Cpu, Cuda };

struct AdamParams {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  std::int64_t t = 1;  // 1-based step number (bias correction)
};

class Backend {
 public:
  virtual ~Backend() = default;
  // "reference", "cpu", "cuda" (for logs and files; code asks kind()).
  virtual std::string name() const = 0;
  virtual BackendKind kind() const = 0;
  // The GPU ordinal it runs on, -1 for a host backend.
  virtual int device() const { return -1; }
  // The device stream its ops are enqueued on (a cudaStream_t), null for a host backend.
  virtual void* device_stream() const { return nullptr; }
  // Human-readable: GEMM library, kernel/ISA, threads.
  virtual std::string describe() const = 0;

  // --- memory ------------------------------------------------------------------------------
  virtual float* allocate(std::size_t n) = 0;  // zero-filled
  virtual void release(float* p) = 0;
  virtual void upload(float* dst, const float* host, std::size_t n) = 0;
  virtual void download(float* host, const float* src, std::size_t n) = 0;
  virtual void fill_zero(float* x, std::size_t n) = 0;
  virtual void synchronize() {}
  // True when backend memory is ordinary host memory (CPU backends): callers may then write
  // into buffers directly instead of staging and uploading.
  virtual bool host_memory() const { return false; }

  // --- dense algebra -------------------------------------------------------------------------
  // C[m×n] = alpha · op(A) · op(B) + beta · C, row-major; op(A) is m×k, op(B) is k×n.
  virtual void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                    const float* b, int ldb, float beta, float* c, int ldc) = 0;

  // Fully connected layer forward: Y[m×n] = act(X[m×k] · Wᵀ + b), W is [n×k]. Backends may
  // fuse the bias and activation into the GEMM.
  virtual void linear_forward(const float* x, int ldx, const float* w, const float* b, int m, int n, int k,
                              Activation act, float* y) = 0;
  // Y[m×n] ← act(Y + bias).
  virtual void bias_activation_forward(float* y, const float* bias, int m, int n, Activation act) = 0;
  // dY ← dY · act'(Y), from the activation's output Y (ReLU: Y > 0).
  virtual void activation_backward(float* dy, const float* y, int m, int n, Activation act) = 0;
  // db[n] ← (accumulate ? db : 0) + Σ_rows dY[m×n].
  virtual void bias_grad(const float* dy, int m, int n, float* db, bool accumulate) = 0;

  // --- randomness (counter-based: the draw for a row is keyed by its global sample id) -------
  // Inverted dropout: keep element j of row i when rng::bits16 of block (sample, j/8) is ≥
  // rng::dropout_threshold(rate); keep_scale = 1/(1−rate) or 0 and y ← y · keep_scale.
  // sample_ids (host) holds the m rows' global sample indices.
  virtual void dropout_forward(float* y, float* keep_scale, int m, int n, float rate, const rng::StreamKey& key,
                               std::span<const std::int64_t> sample_ids) = 0;
  // dY ← dY · keep_scale.
  virtual void dropout_backward(float* dy, const float* keep_scale, int m, int n) = 0;
  // Both backward steps of a hidden layer: dropout (when keep_scale is not null), then the
  // activation, from the layer's output Y. A backend may do them in one pass.
  virtual void dropout_activation_backward(float* dy, const float* y, const float* keep_scale, int m, int n,
                                           Activation act) {
    if (keep_scale) dropout_backward(dy, keep_scale, m, n);
    activation_backward(dy, y, m, n, act);
  }
  // mu_logvar[m×2L] holds μ then log σ² per row. eps ~ N(0,1) keyed by (key, sample, j);
  // z[m×L] = μ + exp(½ log σ²) · eps.
  virtual void reparameterize(const float* mu_logvar, int m, int latent, const rng::StreamKey& key,
                              std::span<const std::int64_t> sample_ids, float* eps, float* z) = 0;
  // d_mu_logvar[m×2L] += (dz, dz · eps · ½ exp(½ log σ²)).
  virtual void reparameterize_backward(const float* dz, const float* mu_logvar, const float* eps, int m, int latent,
                                       float* d_mu_logvar) = 0;

  // --- losses ----------------------------------------------------------------------------------
  // Weighted Gaussian reconstruction: per_sample[i] = ½ Σ_j w (x − x̂)² (accumulated in
  // double); dxhat = grad_scale · w · (x̂ − x); all [m×n].
  virtual void gaussian_loss(const float* x, const float* w, const float* xhat, int m, int n, float grad_scale,
                             float* dxhat, float* per_sample) = 0;
  // KL(q‖N(0,I)) per_sample[i] = −½ Σ (1 + lv − μ² − e^lv); d_mu_logvar ← grad_scale · weight ·
  // (μ, ½(e^lv − 1)) (overwrites).
  virtual void kl_divergence(const float* mu_logvar, int m, int latent, float weight, float grad_scale,
                             float* d_mu_logvar, float* per_sample) = 0;

  // --- optimiser and reductions --------------------------------------------------------------
  // Adam (Kingma & Ba 2015), bias-corrected, on flat buffers of n floats.
  virtual void adam_step(float* params, const float* grads, float* m, float* v, std::size_t n,
                         const AdamParams& p) = 0;
  // Σ x² in double; NaN/Inf propagate (the trainer's finiteness check).
  virtual double sum_squares(const float* x, std::size_t n) = 0;
  // The Adam step and Σ g² of its gradient (the finiteness check), which a backend may do in
  // one pass. When the sum is not finite the step may or may not have been applied: the
  // caller stops training (its last good checkpoint is on disk).
  virtual double adam_step_checked(float* params, const float* grads, float* m, float* v, std::size_t n,
                                   const AdamParams& p) {
    const double check = sum_squares(grads, n);
    if (std::isfinite(check)) adam_step(params, grads, m, v, n, p);
    return check;
  }
};

// "reference" (tests), "cpu", or "auto"/"cuda" (the CUDA backend when built and a device
// exists; otherwise "auto" falls back to "cpu" and "cuda" throws ConfigError).
// threads: OpenMP/BLAS threads for the CPU backend (0 = OpenMP default); gemm: the CPU SGEMM
// library, "auto" | "openblas" | "onednn" (train.gemm), or "batch-invariant" (see cpu_gemm.hpp);
// tf32: TF32 tensor-core GEMMs on the CUDA backend (train.tf32); cuda_lt_epilogue: its layer
// forward by cuBLASLt with the bias/ReLU epilogue (train.cuda_epilogue = "cublaslt").
std::unique_ptr<Backend> make_backend(const std::string& kind, int threads = 0, const std::string& gemm = "auto",
                                      bool tf32 = false, bool cuda_lt_epilogue = false);

// RAII buffer of n floats in a backend's memory.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Backend& backend, std::size_t n) : backend_(&backend), data_(backend.allocate(n)), size_(n) {}
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : backend_(o.backend_), data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      backend_ = o.backend_;
      data_ = o.data_;
      size_ = o.size_;
      o.data_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  float* data() const { return data_; }
  std::size_t size() const { return size_; }
  void reset() {
    if (data_) backend_->release(data_);
    data_ = nullptr;
    size_ = 0;
  }

 private:
  Backend* backend_ = nullptr;
  float* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace specvae::model
