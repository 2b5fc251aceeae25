// Exact kNN kernels: centring, squared norms, the fused add-norms + k-selection over a
// distance tile, and the exact refinement. Selection: each of T threads keeps a sorted list
// of its k_sel best (distance, index) pairs in shared memory, compared against a threshold
// held in a register (insertions are rare once the lists fill); the T lists, with the
// running list of earlier tiles seeded into thread 0's, are then bitonic-sorted together.
#include <climits>

#include <math_constants.h>

#include "block_reduce.cuh"
#include "cuda_check.cuh"
#include "knn_ops.h"
#include "specvae/neighbours/topk.hpp"

namespace specvae::kernels {
namespace {
constexpr int kBlock = 256;

using neighbours::key_less;
using neighbours::topk_insert;

__global__ void centre_rows_kernel(float* __restrict__ x, std::size_t total, int d, const float* __restrict__ mean) {
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    x[idx] -= mean[idx % static_cast<std::size_t>(d)];
}

__global__ void row_sq_norms_kernel(const float* __restrict__ x, std::int64_t n, int d, float* __restrict__ norms) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    double acc = 0.0;
    for (int j = 0; j < d; ++j) {
      const double v = x[i * d + j];
      acc += v * v;
    }
    norms[i] = static_cast<float>(acc);
  }
}

// One block per query row of the tile; dynamic shared memory: T·k_pad floats then ints.
__global__ void knn_select_kernel(const float* __restrict__ ip, std::int64_t ld_ip, int n_cols,
                                  const float* __restrict__ q_norms, const float* __restrict__ b_norms,
                                  std::int64_t base_offset, std::int64_t self_begin, int k_sel, int k_pad,
                                  bool first_tile, float* __restrict__ best_d, std::int32_t* __restrict__ best_i) {
  extern __shared__ float smem[];
  const int T = blockDim.x;
  const int N = T * k_pad;  // a power of two (T and k_pad are)
  float* sd = smem;
  int* si = reinterpret_cast<int*>(smem + N);
  const int r = blockIdx.x;
  const int t = threadIdx.x;
  float* my_d = sd + t * k_pad;
  int* my_i = si + t * k_pad;
  for (int s = 0; s < k_pad; ++s) {
    my_d[s] = CUDART_INF_F;
    my_i[s] = INT_MAX;
  }
  const std::size_t out = static_cast<std::size_t>(r) * k_sel;
  if (!first_tile && t == 0)
    for (int s = 0; s < k_sel; ++s) {
      my_d[s] = best_d[out + s];
      my_i[s] = best_i[out + s];
    }
  float thr_d = my_d[k_sel - 1];
  int thr_i = my_i[k_sel - 1];
  const float qn = q_norms[r];
  const float* row = ip + static_cast<std::size_t>(r) * static_cast<std::size_t>(ld_ip);
  const std::int64_t self = self_begin >= 0 ? self_begin + r : -1;
  for (int c = t; c < n_cols; c += T) {
    const std::int64_t g = base_offset + c;
    float d = qn + b_norms[c] + row[c];
    d = d < 0.0f ? 0.0f : d;  // rounding can make the expanded form negative; NaN stays NaN
    if (g == self) d = 0.0f;
    const int gi = static_cast<int>(g);
    if (key_less(d, gi, thr_d, thr_i)) {
      topk_insert(my_d, my_i, k_sel, k_sel, d, gi);  // the list is always full (padded with +inf)
      thr_d = my_d[k_sel - 1];
      thr_i = my_i[k_sel - 1];
    }
  }
  __syncthreads();
  // Bitonic sort of all N pairs, ascending by (distance, index).
  for (int size = 2; size <= N; size <<= 1)
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int e = t; e < N / 2; e += T) {
        const int lo = 2 * stride * (e / stride) + (e % stride);
        const int hi = lo + stride;
        const bool ascending = (lo & size) == 0;
        const float dl = sd[lo], dh = sd[hi];
        const int il = si[lo], ih = si[hi];
        if (ascending ? key_less(dh, ih, dl, il) : key_less(dl, il, dh, ih)) {
          sd[lo] = dh;
          sd[hi] = dl;
          si[lo] = ih;
          si[hi] = il;
        }
      }
      __syncthreads();
    }
  for (int s = t; s < k_sel; s += T) {
    best_d[out + s] = sd[s];
    best_i[out + s] = si[s];
  }
}

__global__ void knn_refine_kernel(const float* __restrict__ queries, int n_rows, const float* __restrict__ base, int d,
                                  const std::int32_t* __restrict__ best_i, int k_cand, int k_sel,
                                  std::int64_t self_begin, int k, std::int64_t* __restrict__ out_index,
                                  double* __restrict__ out_distance) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= n_rows) return;
  double dist[kMaxKnnSelect];
  int idx[kMaxKnnSelect];
  const float* q = queries + static_cast<std::size_t>(r) * d;
  for (int s = 0; s < k_cand; ++s) {
    const int gi = best_i[static_cast<std::size_t>(r) * k_cand + s];
    double dd = CUDART_INF;
    if (gi != INT_MAX) {
      const float* b = base + static_cast<std::size_t>(gi) * d;
      double acc = 0.0;
      for (int j = 0; j < d; ++j) {
        const double diff = static_cast<double>(q[j]) - static_cast<double>(b[j]);
        acc += diff * diff;
      }
      dd = sqrt(acc);
    }
    topk_insert(dist, idx, s, k_cand, dd, gi);  // insertion sort by (distance, index)
  }
  int drop = -1;
  if (self_begin >= 0) {
    drop = 0;
    const std::int64_t self = self_begin + r;
    for (int s = 0; s < k_sel; ++s)
      if (idx[s] == self) {
        drop = s;
        break;
      }
  }
  int o = 0;
  for (int s = 0; s < k_sel && o < k; ++s) {
    if (s == drop) continue;
    const std::size_t at = static_cast<std::size_t>(r) * k + o++;
    out_index[at] = idx[s] == INT_MAX ? -1 : idx[s];
    out_distance[at] = idx[s] == INT_MAX ? CUDART_NAN : dist[s];
  }
}
}  // namespace

void launch_centre_rows(float* x, std::int64_t n, int d, const float* mean, cudaStream_t stream) {
  if (n <= 0 || d <= 0) return;
  const std::size_t total = static_cast<std::size_t>(n) * d;
  centre_rows_kernel<<<grid_for(total, kBlock), kBlock, 0, stream>>>(x, total, d, mean);
  SPECVAE_LAUNCH_CHECK(stream);
}

void launch_row_sq_norms(const float* x, std::int64_t n, int d, float* norms, cudaStream_t stream) {
  if (n <= 0) return;
  row_sq_norms_kernel<<<grid_for(static_cast<std::size_t>(n), kBlock), kBlock, 0, stream>>>(x, n, d, norms);
  SPECVAE_LAUNCH_CHECK(stream);
}

void launch_knn_select_tile(const float* ip, std::int64_t ld_ip, int n_rows, int n_cols, const float* q_norms,
                            const float* b_norms, std::int64_t base_offset, std::int64_t self_begin, int k_sel,
                            bool first_tile, float* best_d, std::int32_t* best_i, cudaStream_t stream) {
  if (n_rows <= 0) return;
  SPECVAE_LAUNCH_REQUIRE(k_sel >= 1 && k_sel <= kMaxKnnSelect, "knn select: k_sel out of range");
  int k_pad = 1;
  while (k_pad < k_sel) k_pad <<= 1;
  // T·k_pad ≤ 4096 pairs (32 KiB of shared memory, under the 48 KiB default): many threads
  // for small k (the scan dominates), fewer for large k (the lists dominate).
  int threads = 4096 / k_pad;
  threads = threads < 32 ? 32 : (threads > 128 ? 128 : threads);
  const std::size_t shared = static_cast<std::size_t>(threads) * k_pad * (sizeof(float) + sizeof(int));
  knn_select_kernel<<<static_cast<unsigned>(n_rows), threads, shared, stream>>>(
      ip, ld_ip, n_cols, q_norms, b_norms, base_offset, self_begin, k_sel, k_pad, first_tile, best_d, best_i);
  SPECVAE_LAUNCH_CHECK(stream);
}

void launch_knn_refine(const float* queries, int n_rows, const float* base, int d, const std::int32_t* best_i,
                       int k_cand, int k_sel, std::int64_t self_begin, int k, std::int64_t* out_index,
                       double* out_distance, cudaStream_t stream) {
  if (n_rows <= 0) return;
  SPECVAE_LAUNCH_REQUIRE(k_sel >= 1 && k_sel <= k_cand && k_cand <= kMaxKnnSelect && k >= 1 && k <= k_sel,
                         "knn refine: bad k");
  constexpr int kRefineBlock = 128;
  knn_refine_kernel<<<static_cast<unsigned>((n_rows + kRefineBlock - 1) / kRefineBlock), kRefineBlock, 0, stream>>>(
      queries, n_rows, base, d, best_i, k_cand, k_sel, self_begin, k, out_index, out_distance);
  SPECVAE_LAUNCH_CHECK(stream);
}

}  // namespace specvae::kernels
