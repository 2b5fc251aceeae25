// LOF from neighbour lists, one thread per point. The order of the sums follows the
// neighbour order (as numpy's mean over a row does), in double.
#include <math_constants.h>

#include "block_reduce.cuh"
#include "cuda_check.cuh"
#include "lof_ops.h"

namespace specvae::kernels {
namespace {
constexpr int kBlock = 256;

__global__ void k_distance_kernel(const double* __restrict__ distance, std::int64_t n, int k, double* __restrict__ kdist) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    kdist[i] = distance[i * k + (k - 1)];
}

__global__ void lrd_kernel(const std::int64_t* __restrict__ index, const double* __restrict__ distance, std::int64_t n,
                           int k, const double* __restrict__ kdist_all, double* __restrict__ lrd) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    double sum = 0.0;
    for (int c = 0; c < k; ++c) {
      const std::int64_t o = index[i * k + c];
      if (o < 0) {  // no neighbour (non-finite coordinates): the point has no density
        sum = CUDART_NAN;
        break;
      }
      const double kd = kdist_all[o];
      const double d = distance[i * k + c];
      sum += d > kd ? d : kd;
    }
    lrd[i] = 1.0 / (sum / k + 1e-10);
  }
}

__global__ void nof_kernel(const std::int64_t* __restrict__ index, std::int64_t n, int k,
                           const double* __restrict__ lrd_all, const double* __restrict__ lrd_own,
                           double* __restrict__ nof) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    double sum = 0.0;
    const double own = lrd_own[i];
    for (int c = 0; c < k; ++c) {
      const std::int64_t o = index[i * k + c];
      sum += o < 0 ? CUDART_NAN : lrd_all[o] / own;
    }
    nof[i] = -(sum / k);
  }
}
}  // namespace

void launch_k_distance(const double* distance, std::int64_t n, int k, double* kdist, cudaStream_t stream) {
  if (n <= 0) return;
  k_distance_kernel<<<grid_for(static_cast<std::size_t>(n), kBlock), kBlock, 0, stream>>>(distance, n, k, kdist);
  SPECVAE_LAUNCH_CHECK(stream);
}

void launch_lrd(const std::int64_t* index, const double* distance, std::int64_t n, int k, const double* kdist_all,
                double* lrd, cudaStream_t stream) {
  if (n <= 0) return;
  lrd_kernel<<<grid_for(static_cast<std::size_t>(n), kBlock), kBlock, 0, stream>>>(index, distance, n, k, kdist_all, lrd);
  SPECVAE_LAUNCH_CHECK(stream);
}

void launch_nof(const std::int64_t* index, std::int64_t n, int k, const double* lrd_all, const double* lrd_own,
                double* nof, cudaStream_t stream) {
  if (n <= 0) return;
  nof_kernel<<<grid_for(static_cast<std::size_t>(n), kBlock), kBlock, 0, stream>>>(index, n, k, lrd_all, lrd_own, nof);
  SPECVAE_LAUNCH_CHECK(stream);
}

}  // namespace specvae::kernels
