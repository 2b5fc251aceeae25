// Launchers of the fully connected layers' element-wise kernels (kernels/layer_ops.cu):
// bias + activation + inverted dropout fused forward, the fused backward, and the bias
// gradient (column sums). Row-major [m×n]; every launch on an explicit stream, checked.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "specvae/core/rng.hpp"

namespace specvae::kernels {

// y ← act(y + bias) (bias may be null, relu selects ReLU over identity); then, when
// keep_scale is not null, inverted dropout: keep_scale = 1/(1 − rate) when rng::bits16 of
// block (key, sample_ids[i], j/8) is ≥ rng::dropout_threshold(rate), else 0 (the CPU rule);
// y ← y · keep_scale. sample_ids is a device array.
void launch_bias_act_dropout(float* y, const float* bias, int m, int n, bool relu, float* keep_scale, float rate,
                             const rng::StreamKey& key, const std::int64_t* sample_ids, cudaStream_t stream);

// dy ← dy · keep_scale (when not null), then dy ← 0 where !(y > 0) (when relu).
void launch_act_dropout_backward(float* dy, const float* y, const float* keep_scale, int m, int n, bool relu,
                                 cudaStream_t stream);

// db[j] ← (accumulate ? db[j] : 0) + Σ_i dy[i, j], summed in double.
void launch_bias_grad(const float* dy, int m, int n, float* db, bool accumulate, cudaStream_t stream);

}  // namespace specvae::kernels
