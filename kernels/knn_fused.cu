// The fused low-dimensional kNN scan (see knn_fused.h). One thread per query keeps its query
// in registers and its sorted candidate list in local memory (L1), with the k-th candidate
// as a register threshold; a block of 128 queries shares each chunk of 256 base points in
// shared memory (read as broadcasts). The distance matrix is never written: at 10M × 10M
// points the materialised path moves ~800 TB, this one only the base, once per block.
#include <climits>

#include <math_constants.h>

#include "block_reduce.cuh"
#include "cuda_check.cuh"
#include "knn_fused.h"
#include "knn_ops.h"
#include "specvae/neighbours/topk.hpp"

namespace specvae::kernels {
namespace {
constexpr int kQueriesPerBlock = 128;
constexpr int kChunk = 256;  // base points per shared-memory chunk: 256 × 16 floats = 16 KiB

__global__ void pad_rows_kernel(const float* __restrict__ x, std::size_t total, int d, int d_pad,
                                float* __restrict__ out) {
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t i = idx / static_cast<std::size_t>(d_pad);
    const int j = static_cast<int>(idx - i * d_pad);
    out[idx] = j < d ? x[i * d + j] : 0.0f;
  }
}

template <int DPAD>
__global__ void __launch_bounds__(kQueriesPerBlock)
knn_fused_kernel(const float* __restrict__ q_padded, const float* __restrict__ q_norms, int n_rows,
                 const float* __restrict__ b_padded, const float* __restrict__ b_norms, std::int64_t n_b,
                 std::int64_t self_begin, int k_sel, float* __restrict__ best_d, std::int32_t* __restrict__ best_i) {
  __shared__ float4 sb[kChunk * (DPAD / 4)];
  __shared__ float sn[kChunk];
  const int r = blockIdx.x * kQueriesPerBlock + threadIdx.x;
  const bool active = r < n_rows;
  float q[DPAD];
#pragma unroll
  for (int j = 0; j < DPAD; ++j) q[j] = active ? q_padded[static_cast<std::size_t>(r) * DPAD + j] : 0.0f;
  const float qn = active ? q_norms[r] : 0.0f;
  const std::int64_t self = (active && self_begin >= 0) ? self_begin + r : -1;
  float list_d[kMaxKnnSelect];
  int list_i[kMaxKnnSelect];
  for (int s = 0; s < k_sel; ++s) {
    list_d[s] = CUDART_INF_F;
    list_i[s] = INT_MAX;
  }
  float thr_d = CUDART_INF_F;
  int thr_i = INT_MAX;
  const float4* b4 = reinterpret_cast<const float4*>(b_padded);
  for (std::int64_t c0 = 0; c0 < n_b; c0 += kChunk) {
    const int count = static_cast<int>(n_b - c0 < kChunk ? n_b - c0 : kChunk);
    __syncthreads();  // the previous chunk is no longer read
    for (int e = threadIdx.x; e < count * (DPAD / 4); e += kQueriesPerBlock) sb[e] = b4[c0 * (DPAD / 4) + e];
    for (int e = threadIdx.x; e < count; e += kQueriesPerBlock) sn[e] = b_norms[c0 + e];
    __syncthreads();
    if (!active) continue;
    for (int p = 0; p < count; ++p) {
      float dot = 0.0f;
#pragma unroll
      for (int j4 = 0; j4 < DPAD / 4; ++j4) {
        const float4 b = sb[p * (DPAD / 4) + j4];
        dot = fmaf(q[4 * j4 + 0], b.x, dot);
        dot = fmaf(q[4 * j4 + 1], b.y, dot);
        dot = fmaf(q[4 * j4 + 2], b.z, dot);
        dot = fmaf(q[4 * j4 + 3], b.w, dot);
      }
      float d = fmaf(-2.0f, dot, qn + sn[p]);
      d = d < 0.0f ? 0.0f : d;  // NaN stays NaN and is never kept
      const std::int64_t g = c0 + p;
      if (g == self) d = 0.0f;
      const int gi = static_cast<int>(g);
      if (neighbours::key_less(d, gi, thr_d, thr_i)) {
        neighbours::topk_insert(list_d, list_i, k_sel, k_sel, d, gi);  // always full (padded with +inf)
        thr_d = list_d[k_sel - 1];
        thr_i = list_i[k_sel - 1];
      }
    }
  }
  if (!active) return;
  const std::size_t out = static_cast<std::size_t>(r) * k_sel;
  for (int s = 0; s < k_sel; ++s) {
    best_d[out + s] = list_d[s];
    best_i[out + s] = list_i[s];
  }
}
}  // namespace

void launch_pad_rows(const float* x, std::int64_t n, int d, int d_pad, float* out, cudaStream_t stream) {
  if (n <= 0) return;
  const std::size_t total = static_cast<std::size_t>(n) * d_pad;
  pad_rows_kernel<<<grid_for(total, 256), 256, 0, stream>>>(x, total, d, d_pad, out);
  SPECVAE_LAUNCH_CHECK(stream);
}

void launch_knn_fused_scan(const float* q_padded, const float* q_norms, int n_rows, const float* b_padded,
                           const float* b_norms, std::int64_t n_b, int d_pad, std::int64_t self_begin, int k_sel,
                           float* best_d, std::int32_t* best_i, cudaStream_t stream) {
  if (n_rows <= 0) return;
  SPECVAE_LAUNCH_REQUIRE(k_sel >= 1 && k_sel <= kMaxKnnSelect, "fused knn: k_sel out of range");
  const unsigned grid = static_cast<unsigned>((n_rows + kQueriesPerBlock - 1) / kQueriesPerBlock);
  switch (d_pad) {
    case 4: knn_fused_kernel<4><<<grid, kQueriesPerBlock, 0, stream>>>(q_padded, q_norms, n_rows, b_padded, b_norms, n_b, self_begin, k_sel, best_d, best_i); break;
    case 8: knn_fused_kernel<8><<<grid, kQueriesPerBlock, 0, stream>>>(q_padded, q_norms, n_rows, b_padded, b_norms, n_b, self_begin, k_sel, best_d, best_i); break;
    case 12: knn_fused_kernel<12><<<grid, kQueriesPerBlock, 0, stream>>>(q_padded, q_norms, n_rows, b_padded, b_norms, n_b, self_begin, k_sel, best_d, best_i); break;
    case 16: knn_fused_kernel<16><<<grid, kQueriesPerBlock, 0, stream>>>(q_padded, q_norms, n_rows, b_padded, b_norms, n_b, self_begin, k_sel, best_d, best_i); break;
    default: SPECVAE_LAUNCH_REQUIRE(false, "fused knn: padded dimension must be 4, 8, 12 or 16");
  }
  SPECVAE_LAUNCH_CHECK(stream);
}

}  // namespace specvae::kernels
