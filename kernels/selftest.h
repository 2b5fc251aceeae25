// Launcher of the toolchain self-test kernel (kernels/selftest.cu).
#pragma once

#include <cuda_runtime_api.h>

namespace specvae::kernels {
// out[i] = i * scale for i < n, on `stream`.
void launch_iota(float* out, int n, float scale, cudaStream_t stream);
}  // namespace specvae::kernels
