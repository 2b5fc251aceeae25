// Launcher of the row gather used to assemble a batch from a GPU-resident shard
// (kernels/gather_ops.cu).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace specvae::kernels {

// dst[r·n_cols + j] = src[rows[r]·n_cols + j] for r < count (rows: device array).
void launch_gather_rows(const float* src, const std::int64_t* rows, std::int64_t count, int n_cols, float* dst,
                        cudaStream_t stream);

}  // namespace specvae::kernels
