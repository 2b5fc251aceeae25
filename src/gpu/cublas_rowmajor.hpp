// Row-major SGEMM on cuBLAS (column-major): C = op(A)·op(B) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ,
// i.e. the operands are passed swapped with their own transposition flags, since a row-major
// matrix read column-major is its transpose. Shared by the backend and the kNN distances.
#pragma once

#include <cublas_v2.h>

#include "cuda_check.cuh"

namespace specvae::gpu {

// C[m×n] = alpha·op(A)·op(B) + beta·C, all row-major; op(A) is m×k, op(B) is k×n.
inline void sgemm_row_major(cublasHandle_t handle, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                            const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  // cuBLAS wants leading dimensions ≥ 1 even when k = 0 (then C = beta·C).
  lda = lda < 1 ? 1 : lda;
  ldb = ldb < 1 ? 1 : ldb;
  SPECVAE_CUBLAS_CHECK(cublasSgemm(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   n, m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
}

}  // namespace specvae::gpu
