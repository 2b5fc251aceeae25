// Launcher of the weighted Gaussian reconstruction loss and its gradient
// (kernels/loss_ops.cu): one per-spectrum reduction per row.
#pragma once

#include <cuda_runtime_api.h>

namespace specvae::kernels {

// per_sample[i] = ½ Σ_j w (x − x̂)² (double accumulation); dxhat = grad_scale · w · (x̂ − x).
// All matrices [m×n] row-major; dxhat may be null (evaluation without a gradient).
void launch_gaussian_loss(const float* x, const float* w, const float* xhat, int m, int n, float grad_scale,
                          float* dxhat, float* per_sample, cudaStream_t stream);

}  // namespace specvae::kernels
