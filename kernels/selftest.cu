// The smallest checked kernel: proves nvcc builds, links and launches on every target.
#include "cuda_check.cuh"
#include "selftest.h"

namespace specvae::kernels {
namespace {
__global__ void iota_kernel(float* out, int n, float scale) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = float(i) * scale;
}
}  // namespace

void launch_iota(float* out, int n, float scale, cudaStream_t stream) {
  if (n <= 0) return;
  constexpr int kBlock = 256;
  iota_kernel<<<(n + kBlock - 1) / kBlock, kBlock, 0, stream>>>(out, n, scale);
  SPECVAE_LAUNCH_CHECK(stream);
}
}  // namespace specvae::kernels
