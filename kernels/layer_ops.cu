// Element-wise kernels of the fully connected layers: the fused bias/ReLU/dropout forward,
// its backward and the bias gradient. Dropout masks come from the counter-based Philox
// stream (specvae/core/rng.hpp), so the GPU drops exactly the units the CPU drops.
#include "block_reduce.cuh"
#include "cuda_check.cuh"
#include "layer_ops.h"

namespace specvae::kernels {
namespace {
constexpr int kBlock = 256;

__global__ void bias_act_dropout_kernel(float* __restrict__ y, const float* __restrict__ bias, int m, int n,
                                        bool relu, float* __restrict__ keep_scale, std::uint32_t threshold,
                                        float scale, rng::StreamKey key, const std::int64_t* __restrict__ ids) {
  const std::size_t total = static_cast<std::size_t>(m) * static_cast<std::size_t>(n);
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const int i = static_cast<int>(idx / static_cast<std::size_t>(n));
    const int j = static_cast<int>(idx - static_cast<std::size_t>(i) * n);
    float v = y[idx];
    if (bias) v += bias[j];
    if (relu && !(v > 0.0f)) v = 0.0f;
    if (keep_scale) {
      // The CPU's rule exactly: 16-bit draws, eight elements per Philox block.
      const rng::Philox4x32 b = rng::block(key, static_cast<std::uint64_t>(ids[i]), static_cast<std::uint32_t>(j) >> 3);
      const float ks = rng::bits16(b, static_cast<std::uint32_t>(j)) >= threshold ? scale : 0.0f;
      keep_scale[idx] = ks;
      v *= ks;
    }
    y[idx] = v;
  }
}

__global__ void act_dropout_backward_kernel(float* __restrict__ dy, const float* __restrict__ y,
                                            const float* __restrict__ keep_scale, std::size_t total, bool relu) {
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    float g = dy[idx];
    if (keep_scale) g *= keep_scale[idx];
    if (relu && !(y[idx] > 0.0f)) g = 0.0f;
    dy[idx] = g;
  }
}

// 32 columns per block (one warp reads 32 consecutive floats of a row: coalesced), 8 row
// groups summed in double in a fixed order.
constexpr int kColTile = 32;
constexpr int kRowGroups = 8;
__global__ void bias_grad_kernel(const float* __restrict__ dy, int m, int n, float* __restrict__ db,
                                 bool accumulate) {
  __shared__ double part[kRowGroups][kColTile + 1];
  const int j = blockIdx.x * kColTile + threadIdx.x;
  double acc = 0.0;
  if (j < n)
    for (int i = threadIdx.y; i < m; i += kRowGroups) acc += dy[static_cast<std::size_t>(i) * n + j];
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && j < n) {
    double s = accumulate ? static_cast<double>(db[j]) : 0.0;
    for (int r = 0; r < kRowGroups; ++r) s += part[r][threadIdx.x];
    db[j] = static_cast<float>(s);
  }
}
}  // namespace

void launch_bias_act_dropout(float* y, const float* bias, int m, int n, bool relu, float* keep_scale, float rate,
                             const rng::StreamKey& key, const std::int64_t* sample_ids, cudaStream_t stream) {
  if (m <= 0 || n <= 0) return;
  const float scale = keep_scale ? 1.0f / (1.0f - rate) : 1.0f;  // same float expression as the CPU
  const std::size_t total = static_cast<std::size_t>(m) * static_cast<std::size_t>(n);
  const std::uint32_t threshold = keep_scale ? rng::dropout_threshold(rate) : 0u;
  bias_act_dropout_kernel<<<grid_for(total, kBlock), kBlock, 0, stream>>>(y, bias, m, n, relu, keep_scale, threshold,
                                                                          scale, key, sample_ids);
  SPECVAE_LAUNCH_CHECK(stream);
}

void launch_act_dropout_backward(float* dy, const float* y, const float* keep_scale, int m, int n, bool relu,
                                 cudaStream_t stream) {
  if (m <= 0 || n <= 0 || (!relu && !keep_scale)) return;
  const std::size_t total = static_cast<std::size_t>(m) * static_cast<std::size_t>(n);
  act_dropout_backward_kernel<<<grid_for(total, kBlock), kBlock, 0, stream>>>(dy, y, keep_scale, total, relu);
  SPECVAE_LAUNCH_CHECK(stream);
}

void launch_bias_grad(const float* dy, int m, int n, float* db, bool accumulate, cudaStream_t stream) {
  if (n <= 0) return;
  const dim3 block(kColTile, kRowGroups);
  const dim3 grid(static_cast<unsigned>((n + kColTile - 1) / kColTile));
  bias_grad_kernel<<<grid, block, 0, stream>>>(dy, m < 0 ? 0 : m, n, db, accumulate);
  SPECVAE_LAUNCH_CHECK(stream);
}

}  // namespace specvae::kernels
