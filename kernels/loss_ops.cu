// The weighted Gaussian reconstruction term (paper §3): one block per spectrum, each thread
// a strided slice of the bins, summed in double in a fixed order (block_sum), so the loss
// agrees with the CPU reference to double rounding and is the same on every run.
#include "block_reduce.cuh"
#include "cuda_check.cuh"
#include "loss_ops.h"

namespace specvae::kernels {
namespace {
// 1000 bins per row: 128 threads give ~8 bins each, enough to hide latency with many rows.
constexpr int kBlock = 128;

__global__ void gaussian_loss_kernel(const float* __restrict__ x, const float* __restrict__ w,
                                     const float* __restrict__ xhat, int m, int n, float grad_scale,
                                     float* __restrict__ dxhat, float* __restrict__ per_sample) {
  __shared__ double scratch[32];
  for (int i = blockIdx.x; i < m; i += gridDim.x) {
    const std::size_t row = static_cast<std::size_t>(i) * n;
    double acc = 0.0;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
      const double r = static_cast<double>(xhat[row + j]) - x[row + j];
      const double wj = w[row + j];
      acc += wj * r * r;
      if (dxhat) dxhat[row + j] = static_cast<float>(grad_scale * wj * r);
    }
    const double total = block_sum(acc, scratch);
    if (threadIdx.x == 0) per_sample[i] = static_cast<float>(0.5 * total);
  }
}
}  // namespace

void launch_gaussian_loss(const float* x, const float* w, const float* xhat, int m, int n, float grad_scale,
                          float* dxhat, float* per_sample, cudaStream_t stream) {
  if (m <= 0) return;
  const unsigned grid = static_cast<unsigned>(m < 65536 ? m : 65536);
  gaussian_loss_kernel<<<grid, kBlock, 0, stream>>>(x, w, xhat, m, n, grad_scale, dxhat, per_sample);
  SPECVAE_LAUNCH_CHECK(stream);
}

}  // namespace specvae::kernels
