// OpenBLAS as the CPU SGEMM. OpenBLAS picks its kernel from the CPU id at load time; 0.3.21
// does not know recent Xeons and falls back to the SSE3 "Prescott" kernel (≈5× slower than its
// AVX-512 SkylakeX kernel here), which we detect and report rather than override: forcing a
// kernel the library did not choose can be wrong on other CPUs.
#include <cblas.h>

#include <string>

#include "cpu_gemm.hpp"

namespace specvae::model {

void cpu_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
               int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha,
              a, lda, b, ldb, beta, c, ldc);
}

void set_gemm_threads(int threads) {
  if (threads > 0) openblas_set_num_threads(threads);
}

GemmLibraryInfo gemm_library_info() {
  GemmLibraryInfo info;
  info.library = std::string("OpenBLAS (") + openblas_get_config() + ")";
  info.kernel = openblas_get_corename();
  const bool cpu_has_avx512 = __builtin_cpu_supports("avx512f");
  const bool cpu_has_avx2 = __builtin_cpu_supports("avx2");
  const std::string& k = info.kernel;
  const bool kernel_avx512 = k.find("skylakex") != std::string::npos || k.find("SkylakeX") != std::string::npos ||
                             k.find("cooperlake") != std::string::npos || k.find("sapphire") != std::string::npos;
  const bool kernel_avx2 = kernel_avx512 || k.find("haswell") != std::string::npos ||
                           k.find("Haswell") != std::string::npos || k.find("zen") != std::string::npos;
  if (cpu_has_avx512 && !kernel_avx512) {
    info.slow_fallback = true;
    info.note = "this CPU has AVX-512 but OpenBLAS chose kernel '" + k + "'";
  } else if (cpu_has_avx2 && !kernel_avx2) {
    info.slow_fallback = true;
    info.note = "this CPU has AVX2 but OpenBLAS chose kernel '" + k + "'";
  }
  return info;
}

}  // namespace specvae::model
