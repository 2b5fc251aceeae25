// The CPU SGEMM specvae uses (row-major, cblas semantics) and what it reports about itself:
// which library and which kernel/ISA runs, and whether that is a slow fallback.
#pragma once

#include <string>

namespace specvae::model {

struct GemmLibraryInfo {
  std::string library;  // "OpenBLAS 0.3.21", "BLIS 0.9.0", ...
  std::string kernel;   // the kernel/ISA the library chose at run time
  bool slow_fallback = false;  // the kernel is far below what this CPU can do
  std::string note;     // why, when slow_fallback
};

// Row-major C[m×n] = alpha·op(A)·op(B) + beta·C. Threads: those set by set_gemm_threads.
void cpu_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
               int ldb, float beta, float* c, int ldc);
void set_gemm_threads(int threads);
GemmLibraryInfo gemm_library_info();

}  // namespace specvae::model
