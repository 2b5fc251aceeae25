// Block-wide sums in double for the per-spectrum and whole-buffer reductions. Sums are
// formed in a fixed order (lanes by shuffle, then warps in order), so a reduction gives the
// same bits on every run for a given launch shape.
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

namespace specvae::kernels {

__device__ __forceinline__ double warp_sum(double v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xFFFFFFFFu, v, offset);
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); the result is valid in
// thread 0 only. `scratch` is 32 doubles of shared memory.
__device__ __forceinline__ double block_sum(double v, double* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  double total = 0.0;
  if (warp == 0) {
    const int n_warps = (blockDim.x + 31) >> 5;
    total = lane < n_warps ? scratch[lane] : 0.0;
    total = warp_sum(total);
  }
  __syncthreads();  // scratch may be reused right after
  return total;
}

// Grid-stride loops: enough blocks to fill the GPU, never more than the work needs.
inline unsigned grid_for(std::size_t n, int block) {
  const std::size_t blocks = (n + static_cast<std::size_t>(block) - 1) / static_cast<std::size_t>(block);
  return static_cast<unsigned>(blocks < 65536u ? (blocks ? blocks : 1u) : 65536u);
}

}  // namespace specvae::kernels
