// Row gather for batches drawn from a GPU-resident shard: one block per output row, the
// threads copying consecutive floats (coalesced on both sides).
#include "block_reduce.cuh"
#include "cuda_check.cuh"
#include "gather_ops.h"

namespace specvae::kernels {
namespace {
__global__ void gather_rows_kernel(const float* __restrict__ src, const std::int64_t* __restrict__ rows,
                                   std::int64_t count, int n_cols, float* __restrict__ dst) {
  for (std::int64_t r = blockIdx.x; r < count; r += gridDim.x) {
    const float* in = src + rows[r] * n_cols;
    float* out = dst + r * n_cols;
    for (int j = threadIdx.x; j < n_cols; j += blockDim.x) out[j] = in[j];
  }
}
}  // namespace

void launch_gather_rows(const float* src, const std::int64_t* rows, std::int64_t count, int n_cols, float* dst,
                        cudaStream_t stream) {
  if (count <= 0 || n_cols <= 0) return;
  const unsigned grid = static_cast<unsigned>(count < 65536 ? count : 65536);
  gather_rows_kernel<<<grid, 256, 0, stream>>>(src, rows, count, n_cols, dst);
  SPECVAE_LAUNCH_CHECK(stream);
}

}  // namespace specvae::kernels
