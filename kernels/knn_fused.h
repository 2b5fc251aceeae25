// Launchers of the fused low-dimensional kNN scan (kernels/knn_fused.cu): for d ≤ 16 the
// distances never leave the chip — each thread owns one query, the base streams through
// shared memory, and each thread keeps its k_sel best candidates. Same candidate order and
// output layout as launch_knn_select_tile, so launch_knn_refine finishes both paths.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace specvae::kernels {

// Largest dimension of the fused scan.
constexpr int kKnnFusedMaxDim = 16;
// The padded row width used for dimension d (a multiple of 4, for 16-byte loads).
inline int knn_fused_pad(int d) { return (d + 3) / 4 * 4; }

// out[i·d_pad + j] = x[i·d + j] for j < d, 0 for d ≤ j < d_pad.
void launch_pad_rows(const float* x, std::int64_t n, int d, int d_pad, float* out, cudaStream_t stream);

// For query rows r < n_rows (padded, centred, with squared norms q_norms) against all n_b
// base rows (padded, centred, norms b_norms): candidates (max(‖q‖² + ‖b‖² − 2 q·b, 0), index),
// the query itself (index self_begin + r when self_begin ≥ 0) at exactly 0; writes the k_sel
// smallest by (distance, index) to best_d/best_i [n_rows × k_sel]. d_pad = knn_fused_pad(d).
void launch_knn_fused_scan(const float* q_padded, const float* q_norms, int n_rows, const float* b_padded,
                           const float* b_norms, std::int64_t n_b, int d_pad, std::int64_t self_begin, int k_sel,
                           float* best_d, std::int32_t* best_i, cudaStream_t stream);

}  // namespace specvae::kernels
