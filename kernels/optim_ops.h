// Launchers of the optimiser and whole-buffer reductions (kernels/optim_ops.cu): Adam fused
// over the flat parameter buffer, and the sum of squares (gradient norm, finiteness check).
#pragma once

#include <cstddef>

#include <cuda_runtime_api.h>

namespace specvae::kernels {

// One Adam step over n floats; arithmetic in double as the CPU reference. bias_corr1/2 are
// 1 − β1^t and 1 − β2^t (computed once on the host).
void launch_adam(float* params, const float* grads, float* m, float* v, std::size_t n, float lr, float beta1,
                 float beta2, float eps, double bias_corr1, double bias_corr2, cudaStream_t stream);

// Partial-sum blocks used by launch_sum_squares: `partials` must hold this many doubles + 1.
constexpr int kSumSquaresBlocks = 1024;

// *result (device) = Σ x² in double. Two passes with a fixed shape (kSumSquaresBlocks
// partials, then one block), so the value is the same on every run; NaN/Inf propagate.
void launch_sum_squares(const float* x, std::size_t n, double* partials, double* result, cudaStream_t stream);

}  // namespace specvae::kernels
