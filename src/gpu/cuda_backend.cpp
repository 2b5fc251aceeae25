// CudaBackend: the model::Backend ops on one GPU. GEMMs go to cuBLAS (row-major operands
// passed as their column-major transposes), element-wise ops and reductions to kernels/.
// Everything is enqueued on one compute stream; only download() and sum_squares() wait.
#include "specvae/gpu/cuda_backend.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "cublas_rowmajor.hpp"
#include "cublaslt_linear.hpp"
#include "cuda_buffer.hpp"
#include "cuda_check.cuh"
#include "layer_ops.h"
#include "latent_ops.h"
#include "loss_ops.h"
#include "optim_ops.h"
#include "specvae/core/error.hpp"
#include "specvae/gpu/resources.hpp"

namespace specvae::gpu {
namespace {

using model::Activation;

class CudaBackend final : public model::Backend {
 public:
  CudaBackend(int device, bool tf32, bool lt_epilogue) : gpu_(device), tf32_(tf32) {
    stream_ = static_cast<cudaStream_t>(gpu_.compute_stream());
    cublas_ = static_cast<cublasHandle_t>(gpu_.cublas());
    SPECVAE_CUBLAS_CHECK(cublasSetMathMode(cublas_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    if (lt_epilogue) lt_ = std::make_unique<LtLinear>(tf32);
    partials_ = CudaBuffer<double>::device(kernels::kSumSquaresBlocks + 1, stream_);
  }
  ~CudaBackend() override {
    cudaSetDevice(gpu_.device());
    ids_ = {};
    partials_ = {};
    cudaStreamSynchronize(stream_);
  }

  std::string name() const override { return "cuda"; }
  model::BackendKind kind() const override { return model::BackendKind::Cuda; }
  std::string describe() const override {
    const auto& i = gpu_.info();
    return fmt::format("cuda: {} (sm_{}{}, {} SMs, {:.0f} GiB), cuBLAS SGEMM{}{}", i.name, i.compute_major,
                       i.compute_minor, i.multiprocessors, double(i.total_memory) / (1u << 30),
                       tf32_ ? " with TF32 tensor cores" : " (IEEE fp32)",
                       lt_ ? fmt::format(", layer forward by cuBLASLt with the bias/ReLU epilogue ({} of {} layer "
                                         "forwards so far on the two-pass path instead)",
                                         lt_->fallbacks(), lt_->calls())
                           : std::string());
  }
  void* device_stream() const override { return stream_; }
  int device() const override { return gpu_.device(); }

  // --- memory --------------------------------------------------------------------------------
  float* allocate(std::size_t n) override {
    bind();
    // Never a null pointer, even for n = 0 (callers treat null as "no buffer").
    const std::size_t bytes = std::max<std::size_t>(n * sizeof(float), 256);
    void* p = nullptr;
    SPECVAE_CUDA_CHECK(cudaMallocAsync(&p, bytes, stream_));
    SPECVAE_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_));
    return static_cast<float*>(p);
  }
  void release(float* p) override {
    if (!p) return;
    bind();
    SPECVAE_CUDA_CHECK(cudaFreeAsync(p, stream_));
  }
  // Synchronous from the caller's view: the host buffer may be reused when this returns
  // (also for pinned host memory, where cudaMemcpyAsync would not wait).
  void upload(float* dst, const float* host, std::size_t n) override {
    if (n == 0) return;
    bind();
    SPECVAE_CUDA_CHECK(cudaMemcpyAsync(dst, host, n * sizeof(float), cudaMemcpyHostToDevice, stream_));
    SPECVAE_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  void download(float* host, const float* src, std::size_t n) override {
    if (n == 0) return;
    bind();
    SPECVAE_CUDA_CHECK(cudaMemcpyAsync(host, src, n * sizeof(float), cudaMemcpyDeviceToHost, stream_));
    SPECVAE_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  void fill_zero(float* x, std::size_t n) override {
    if (n == 0) return;
    bind();
    SPECVAE_CUDA_CHECK(cudaMemsetAsync(x, 0, n * sizeof(float), stream_));
  }
  void synchronize() override {
    bind();
    SPECVAE_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  // --- dense algebra -------------------------------------------------------------------------
  void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
            int ldb, float beta, float* c, int ldc) override {
    bind();
    sgemm_row_major(cublas_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void linear_forward(const float* x, int ldx, const float* w, const float* b, int m, int n, int k, Activation act,
                      float* y) override {
    bind();
    if (lt_ && lt_->forward(x, ldx, w, b, m, n, k, act == Activation::Relu, y, stream_)) return;
    sgemm_row_major(cublas_, false, true, m, n, k, 1.0f, x, ldx, w, k, 0.0f, y, n);
    kernels::launch_bias_act_dropout(y, b, m, n, act == Activation::Relu, nullptr, 0.0f, {}, nullptr, stream_);
  }
  void bias_activation_forward(float* y, const float* bias, int m, int n, Activation act) override {
    bind();
    kernels::launch_bias_act_dropout(y, bias, m, n, act == Activation::Relu, nullptr, 0.0f, {}, nullptr, stream_);
  }
  void activation_backward(float* dy, const float* y, int m, int n, Activation act) override {
    bind();
    kernels::launch_act_dropout_backward(dy, y, nullptr, m, n, act == Activation::Relu, stream_);
  }
  void bias_grad(const float* dy, int m, int n, float* db, bool accumulate) override {
    bind();
    kernels::launch_bias_grad(dy, m, n, db, accumulate, stream_);
  }

  // --- randomness ----------------------------------------------------------------------------
  void dropout_forward(float* y, float* keep_scale, int m, int n, float rate, const rng::StreamKey& key,
                       std::span<const std::int64_t> sample_ids) override {
    bind();
    const std::int64_t* ids = device_ids(sample_ids, m);
    kernels::launch_bias_act_dropout(y, nullptr, m, n, false, keep_scale, rate, key, ids, stream_);
  }
  void dropout_backward(float* dy, const float* keep_scale, int m, int n) override {
    bind();
    kernels::launch_act_dropout_backward(dy, nullptr, keep_scale, m, n, false, stream_);
  }
  // Both in one pass: the same two float operations per element as dropout_backward then
  // activation_backward, so the same bits.
  void dropout_activation_backward(float* dy, const float* y, const float* keep_scale, int m, int n,
                                   Activation act) override {
    bind();
    kernels::launch_act_dropout_backward(dy, y, keep_scale, m, n, act == Activation::Relu, stream_);
  }
  void reparameterize(const float* mu_logvar, int m, int latent, const rng::StreamKey& key,
                      std::span<const std::int64_t> sample_ids, float* eps, float* z) override {
    bind();
    const std::int64_t* ids = device_ids(sample_ids, m);
    kernels::launch_reparameterize(mu_logvar, m, latent, key, ids, eps, z, stream_);
  }
  void reparameterize_backward(const float* dz, const float* mu_logvar, const float* eps, int m, int latent,
                               float* d_mu_logvar) override {
    bind();
    kernels::launch_reparameterize_backward(dz, mu_logvar, eps, m, latent, d_mu_logvar, stream_);
  }

  // --- losses --------------------------------------------------------------------------------
  void gaussian_loss(const float* x, const float* w, const float* xhat, int m, int n, float grad_scale, float* dxhat,
                     float* per_sample) override {
    bind();
    kernels::launch_gaussian_loss(x, w, xhat, m, n, grad_scale, dxhat, per_sample, stream_);
  }
  void kl_divergence(const float* mu_logvar, int m, int latent, float weight, float grad_scale, float* d_mu_logvar,
                     float* per_sample) override {
    bind();
    kernels::launch_kl_divergence(mu_logvar, m, latent, weight, grad_scale, d_mu_logvar, per_sample, stream_);
  }

  // --- optimiser and reductions --------------------------------------------------------------
  void adam_step(float* params, const float* grads, float* m, float* v, std::size_t n,
                 const model::AdamParams& p) override {
    bind();
    // Bias corrections exactly as the CPU reference computes them (double pow of float β).
    const double bc1 = 1.0 - std::pow(static_cast<double>(p.beta1), static_cast<double>(p.t));
    const double bc2 = 1.0 - std::pow(static_cast<double>(p.beta2), static_cast<double>(p.t));
    kernels::launch_adam(params, grads, m, v, n, p.lr, p.beta1, p.beta2, p.eps, bc1, bc2, stream_);
  }
  double sum_squares(const float* x, std::size_t n) override {
    bind();
    kernels::launch_sum_squares(x, n, partials_.get(), partials_.get() + kernels::kSumSquaresBlocks, stream_);
    double result = 0;
    SPECVAE_CUDA_CHECK(cudaMemcpyAsync(&result, partials_.get() + kernels::kSumSquaresBlocks, sizeof(double),
                                       cudaMemcpyDeviceToHost, stream_));
    SPECVAE_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return result;
  }

 private:
  // The current device is per host thread: bind before every call so a backend made on one
  // thread works from another (the in-process communicator runs ranks as threads).
  void bind() const { SPECVAE_CUDA_CHECK(cudaSetDevice(gpu_.device())); }

  // The rows' global sample ids on the device. The graph passes the same ids to every
  // dropout layer and the reparameterisation of a step, so they are uploaded once per batch.
  const std::int64_t* device_ids(std::span<const std::int64_t> ids, int m) {
    SPECVAE_CHECK(ids.size() >= static_cast<std::size_t>(m), "cuda backend: {} sample ids for {} rows", ids.size(), m);
    if (m <= 0) return ids_.get();
    const std::size_t count = static_cast<std::size_t>(m);
    if (last_ids_.size() == count && std::equal(last_ids_.begin(), last_ids_.end(), ids.begin())) return ids_.get();
    if (count > ids_.size()) {
      ids_.reset();
      ids_ = CudaBuffer<std::int64_t>::device(std::max<std::size_t>(count, 1024), stream_);
    }
    last_ids_.assign(ids.begin(), ids.begin() + m);
    // last_ids_ is pageable memory owned here: the copy is staged before this returns, and
    // it is only rewritten by a later call (after this copy in stream order).
    SPECVAE_CUDA_CHECK(cudaMemcpyAsync(ids_.get(), last_ids_.data(), count * sizeof(std::int64_t), cudaMemcpyHostToDevice,
                                       stream_));
    return ids_.get();
  }

  GpuResources gpu_;
  bool tf32_;
  std::unique_ptr<LtLinear> lt_;  // train.cuda_epilogue = "cublaslt"
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  CudaBuffer<double> partials_;
  CudaBuffer<std::int64_t> ids_;
  std::vector<std::int64_t> last_ids_;
};

}  // namespace

int default_cuda_device() {
  const int count = gpu_device_count();
  if (count == 0) return -1;
  // One rank per GPU: the device init_distributed chose from the node-local MPI rank; before
  // MPI is up (tests), the launcher's local rank (the launcher-specific variables before
  // SLURM_LOCALID, which MPICH's and Intel MPI's mpiexec inside Slurm leave at 0 for every
  // rank); otherwise the thread's current device.
  if (const int d = rank_gpu(); d >= 0 && d < count) return d;
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PALS_LOCAL_RANKID", "MV2_COMM_WORLD_LOCAL_RANK",
                          "SLURM_LOCALID"})
    if (const char* v = std::getenv(var); v && *v) return std::atoi(v) % count;
  int current = 0;
  SPECVAE_CUDA_CHECK(cudaGetDevice(&current));
  return current;
}

std::unique_ptr<model::Backend> make_cuda_backend(int device, bool tf32, bool lt_epilogue) {
  const int count = gpu_device_count();
  if (count == 0) throw ConfigError("train.backend = \"cuda\": no usable GPU (" + gpu_unavailable_reason() + ")");
  if (device < 0) device = default_cuda_device();
  if (device < 0 || device >= count)
    throw ConfigError(fmt::format("train.backend = \"cuda\": GPU {} requested, {} visible", device, count));
  return std::make_unique<CudaBackend>(device, tf32, lt_epilogue);
}

}  // namespace specvae::gpu
