// SGEMM through OpenBLAS or oneDNN, and the run-time choice between them (cpu_gemm.hpp).
#include "cpu_gemm.hpp"

#include <cblas.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <fmt/format.h>

#include "specvae/core/error.hpp"

namespace specvae::model {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// What OpenBLAS chose, and whether it is a generic fallback on this CPU.
GemmLibraryInfo openblas_info() {
  GemmLibraryInfo info;
  info.library = GemmLibrary::OpenBlas;
  info.name = std::string("OpenBLAS (") + openblas_get_config() + ")";
  info.kernel = openblas_get_corename();
  const std::string k = lower(info.kernel);
  const bool k512 = k.find("skylakex") != std::string::npos || k.find("cooperlake") != std::string::npos ||
                    k.find("sapphire") != std::string::npos;
  const bool k256 = k512 || k.find("haswell") != std::string::npos || k.find("zen") != std::string::npos;
  if (__builtin_cpu_supports("avx512f") && !k512) {
    info.slow_fallback = true;
    info.note = fmt::format("this CPU has AVX-512 but OpenBLAS chose its '{}' kernel", info.kernel);
  } else if (__builtin_cpu_supports("avx2") && !k256) {
    info.slow_fallback = true;
    info.note = fmt::format("this CPU has AVX2 but OpenBLAS chose its '{}' kernel", info.kernel);
  }
  return info;
}

std::string dnnl_isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return fmt::format("isa 0x{:x}", static_cast<unsigned>(isa));
  }
}

GemmLibraryInfo onednn_info() {
  GemmLibraryInfo info;
  info.library = GemmLibrary::OneDnn;
  const dnnl_version_t* v = dnnl_version();
  info.name = fmt::format("oneDNN {}.{}.{}", v->major, v->minor, v->patch);
  const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  info.kernel = dnnl_isa_name(isa);
  const bool avx512 = (static_cast<unsigned>(isa) & static_cast<unsigned>(dnnl_cpu_isa_avx512_core)) ==
                      static_cast<unsigned>(dnnl_cpu_isa_avx512_core);
  if (__builtin_cpu_supports("avx512f") && !avx512) {
    info.slow_fallback = true;
    info.note = fmt::format("this CPU has AVX-512 but oneDNN dispatches to {}", info.kernel);
  }
  return info;
}

}  // namespace

GemmLibraryInfo choose_gemm_library(const std::string& choice) {
  if (choice == "openblas") return openblas_info();
  if (choice == "onednn") return onednn_info();
  SPECVAE_CHECK(choice == "auto", "train.gemm = {}", choice);
  GemmLibraryInfo ob = openblas_info();
  if (!ob.slow_fallback) return ob;
  GemmLibraryInfo dn = onednn_info();
  if (dn.slow_fallback) return ob;  // neither knows this CPU: keep the default BLAS
  dn.note = "chosen because " + ob.note;
  return dn;
}

GemmLibraryInfo gemm_library_info() { return choose_gemm_library("auto"); }

void cpu_sgemm(GemmLibrary lib, int threads, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
               const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  if (lib == GemmLibrary::OneDnn) {
    // oneDNN (Debian's build uses OpenMP) takes the calling thread's OpenMP thread count.
    if (threads > 0 && omp_get_max_threads() != threads) omp_set_num_threads(threads);
    const dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb,
                                        beta, c, ldc);
    SPECVAE_CHECK(st == dnnl_success, "dnnl_sgemm({}x{}x{}) returned status {}", m, n, k, static_cast<int>(st));
    return;
  }
  if (threads > 0 && openblas_get_num_threads() != threads) openblas_set_num_threads(threads);
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha,
              a, lda, b, ldb, beta, c, ldc);
}

}  // namespace specvae::model
