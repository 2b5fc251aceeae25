// The CPU SGEMM specvae uses (row-major, cblas semantics), chosen deliberately: OpenBLAS
// when the kernel it picked matches this CPU, oneDNN when OpenBLAS falls back to a slow
// generic kernel (Debian's 0.3.21 takes SSE3 "Prescott" on CPUs it does not know, ≈5×
// slower than its AVX-512 kernel). Forcing OpenBLAS to another kernel could be wrong on
// other CPUs; oneDNN dispatches by ISA itself. See bench/RESULTS.md (train) for numbers.
#pragma once

#include <string>

namespace specvae::model {

enum class GemmLibrary { OpenBlas, OneDnn };

struct GemmLibraryInfo {
  GemmLibrary library = GemmLibrary::OpenBlas;
  std::string name;            // "OpenBLAS 0.3.21 ...", "oneDNN 2.6.3"
  std::string kernel;          // the kernel/ISA the library dispatches to
  bool slow_fallback = false;  // far below what this CPU can do
  std::string note;            // why it was chosen / why it is slow
};

// "auto", "openblas" or "onednn" (train.gemm) → the library and what it reports. "auto" is the
// faster library on this CPU. "batch-invariant" (scoring) is OpenBLAS unless its kernel is a
// slow fallback, called through cpu_sgemm_fixed_tiles (below); the library alone promises no
// invariance: OpenBLAS's Haswell/Zen kernels and oneDNN round an element differently when the
// rows around it change.
GemmLibraryInfo choose_gemm_library(const std::string& choice);
GemmLibraryInfo gemm_library_info();  // auto

// Row-major C[m×n] = alpha·op(A)·op(B) + beta·C with `threads` threads (OpenBLAS: an OpenMP
// team over blocks of C, each a single-threaded SGEMM; oneDNN: its own OpenMP threading).
void cpu_sgemm(GemmLibrary lib, int threads, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
               const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);

// The same product computed as a grid of fixed tiles (kFixedTileRows × kFixedTileCols of C,
// the last row and column of tiles narrower), each a single-threaded SGEMM from its own copy
// of the tile's rows of op(A) in an aligned buffer; threads take whole tiles. Element (i, j)
// of C is then computed by the same call, of the same shape, at the same place in its tile,
// from the same bytes, whatever the thread count and whatever the other rows hold: for a
// fixed m it is the same bits on any BLAS kernel. Scoring relies on it with m = its batch.
inline constexpr int kFixedTileRows = 256, kFixedTileCols = 256;
void cpu_sgemm_fixed_tiles(GemmLibrary lib, int threads, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                           const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);

}  // namespace specvae::model
