// Adam over the flat parameter buffer and the deterministic sum of squares. Adam runs in
// double per element, as the CPU reference does: it is memory-bound (4 floats in, 3 out),
// so the double arithmetic costs nothing measurable and keeps CPU/GPU parity tight.
#include "block_reduce.cuh"
#include "cuda_check.cuh"
#include "optim_ops.h"

namespace specvae::kernels {
namespace {
constexpr int kBlock = 256;

__global__ void adam_kernel(float* __restrict__ params, const float* __restrict__ grads, float* __restrict__ m,
                            float* __restrict__ v, std::size_t n, float lr, float beta1, float beta2, float eps,
                            double bc1, double bc2) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const double g = grads[i];
    const double mi = beta1 * static_cast<double>(m[i]) + (1.0 - beta1) * g;
    const double vi = beta2 * static_cast<double>(v[i]) + (1.0 - beta2) * g * g;
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    params[i] = static_cast<float>(params[i] - lr * (mi / bc1) / (sqrt(vi / bc2) + eps));
  }
}

__global__ void sum_squares_partial_kernel(const float* __restrict__ x, std::size_t n, double* __restrict__ partials) {
  __shared__ double scratch[32];
  double acc = 0.0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const double xi = x[i];
    acc += xi * xi;
  }
  const double total = block_sum(acc, scratch);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

__global__ void sum_partials_kernel(const double* __restrict__ partials, int count, double* __restrict__ result) {
  __shared__ double scratch[32];
  double acc = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
  const double total = block_sum(acc, scratch);
  if (threadIdx.x == 0) *result = total;
}
}  // namespace

void launch_adam(float* params, const float* grads, float* m, float* v, std::size_t n, float lr, float beta1,
                 float beta2, float eps, double bias_corr1, double bias_corr2, cudaStream_t stream) {
  if (n == 0) return;
  adam_kernel<<<grid_for(n, kBlock), kBlock, 0, stream>>>(params, grads, m, v, n, lr, beta1, beta2, eps, bias_corr1,
                                                          bias_corr2);
  SPECVAE_LAUNCH_CHECK(stream);
}

void launch_sum_squares(const float* x, std::size_t n, double* partials, double* result, cudaStream_t stream) {
  // A fixed grid (not one sized by n) so the summation order depends on n only.
  sum_squares_partial_kernel<<<kSumSquaresBlocks, kBlock, 0, stream>>>(x, n, partials);
  SPECVAE_LAUNCH_CHECK(stream);
  sum_partials_kernel<<<1, kBlock, 0, stream>>>(partials, kSumSquaresBlocks, result);
  SPECVAE_LAUNCH_CHECK(stream);
}

}  // namespace specvae::kernels
