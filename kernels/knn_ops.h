// Launchers of the exact brute-force kNN kernels (kernels/knn_ops.cu), the FAISS pattern:
// the caller computes ip = −2·Q·Bᵀ for a (query tile × base tile) with cuBLAS; the fused
// kernel adds the squared norms, clamps at 0 and keeps each query's k_sel smallest
// candidates merged with its running list; a last kernel recomputes the chosen distances
// exactly and removes the query itself (scikit-learn's kneighbors(X=None)).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace specvae::kernels {

// Most candidates kept per query (k neighbours + the query itself + spares for the exact
// re-ranking).
constexpr int kMaxKnnSelect = 128;

// x[i·d + j] −= mean[j] (mean: device, d floats).
void launch_centre_rows(float* x, std::int64_t n, int d, const float* mean, cudaStream_t stream);

// norms[i] = Σ_j x[i·d + j]² (summed in double, stored as float).
void launch_row_sq_norms(const float* x, std::int64_t n, int d, float* norms, cudaStream_t stream);

// For query rows r < n_rows of a tile and base columns c < n_cols:
//   dist(r, c) = max(q_norms[r] + b_norms[c] + ip[r·ld_ip + c], 0), index = base_offset + c,
// and, when self_begin ≥ 0, the candidate with index self_begin + r (the query itself) gets
// distance 0 exactly. Keeps the k_sel smallest by (distance, index) — ties go to the smaller
// index — merged with the running list best_d/best_i [n_rows × k_sel] (ignored when
// first_tile). Empty slots hold (+inf, INT32_MAX).
void launch_knn_select_tile(const float* ip, std::int64_t ld_ip, int n_rows, int n_cols, const float* q_norms,
                            const float* b_norms, std::int64_t base_offset, std::int64_t self_begin, int k_sel,
                            bool first_tile, float* best_d, std::int32_t* best_i, cudaStream_t stream);

// Per query row: the k_cand candidates' (best_i [n_rows × k_cand]) Euclidean distances
// recomputed in double from the original coordinates and sorted by (distance, index); of the
// first k_sel ≤ k_cand, with self_begin ≥ 0 the query's own column is removed, or the first
// column when it is not among them (more than k exact duplicates: scikit-learn's rule),
// leaving k = k_sel − 1; otherwise k = k_sel. Empty slots give (−1, NaN).
void launch_knn_refine(const float* queries, int n_rows, const float* base, int d, const std::int32_t* best_i,
                       int k_cand, int k_sel, std::int64_t self_begin, int k, std::int64_t* out_index,
                       double* out_distance, cudaStream_t stream);

}  // namespace specvae::kernels
