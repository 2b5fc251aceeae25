// SGEMM through OpenBLAS or oneDNN, and the run-time choice between them (cpu_gemm.hpp).
#include "specvae/model/cpu_gemm.hpp"

#include <cblas.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>

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
  const bool avx2 = (static_cast<unsigned>(isa) & static_cast<unsigned>(dnnl_cpu_isa_avx2)) ==
                    static_cast<unsigned>(dnnl_cpu_isa_avx2);
  if (__builtin_cpu_supports("avx512f") && !avx512) {
    info.slow_fallback = true;
    info.note = fmt::format("this CPU has AVX-512 but oneDNN dispatches to {}", info.kernel);
  } else if (__builtin_cpu_supports("avx2") && !avx2) {
    info.slow_fallback = true;
    info.note = fmt::format("this CPU has AVX2 but oneDNN dispatches to {}", info.kernel);
  }
  return info;
}

}  // namespace

GemmLibraryInfo choose_gemm_library(const std::string& choice) {
  if (choice == "openblas") return openblas_info();
  if (choice == "onednn") return onednn_info();
  SPECVAE_CHECK(choice == "auto" || choice == "batch-invariant", "train.gemm = {}", choice);
  // SPECVAE_GEMM in the environment stands in for "auto" and for scoring's library: the test
  // suite runs every GEMM-dependent test once per library this way, and a user can pin one
  // for a whole job without editing its configuration.
  if (const char* env = std::getenv("SPECVAE_GEMM"); env && *env) {
    const std::string v = lower(env);
    if (v == "openblas" || v == "onednn") {
      GemmLibraryInfo info = v == "openblas" ? openblas_info() : onednn_info();
      info.note = "chosen by SPECVAE_GEMM=" + v;
      return info;
    }
    if (v != "auto")
      throw ConfigError(fmt::format("SPECVAE_GEMM=\"{}\": expected openblas, onednn or auto", env));
  }
  // oneDNN is the faster of the two on the VAE's shapes wherever it runs its own kernels:
  // - AVX-512: 142 vs 134 GFLOP/s for one step's GEMMs on 1 thread, and 5–12% more training
  //   throughput on 1 and 2 threads and 2 ranks (it also skips the separate clearing of C
  //   that OpenBLAS does for β = 0);
  // - AVX2 (Perlmutter's AMD EPYC 7763): oneDNN's avx2 kernels against OpenBLAS's Haswell
  //   kernel, 2–11% more GEMM throughput on 2 threads and 2–9% more training throughput on
  //   1 and 2 threads and 2 ranks, equal GEMM throughput on 1 thread
  //   (bench/RESULTS.md, train section, "The AVX2 path").
  // OpenBLAS stays the choice for scoring ("batch-invariant") unless its kernel is a generic
  // fallback, and wherever oneDNN does not know the CPU.
  GemmLibraryInfo ob = openblas_info();
  GemmLibraryInfo dn = onednn_info();
  const bool dn_native = !dn.slow_fallback && (__builtin_cpu_supports("avx512f") || __builtin_cpu_supports("avx2"));
  if (dn_native && choice == "auto") {
    dn.note = "chosen because it is the faster SGEMM on AVX2 and AVX-512 CPUs";
    return dn;
  }
  if (!ob.slow_fallback) return ob;
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
  // OpenBLAS: one OpenMP team, each thread a single-threaded SGEMM on its block of C. Debian's
  // OpenBLAS runs its own pthread pool; next to the OpenMP team of the element-wise ops the two
  // pools spin against each other on the same cores (sched_yield was ~10% of a 2-thread
  // scoring profile, and 2-thread training ran slower than 1-thread). One pool avoids that.
  if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  constexpr int kMinBlock = 32;  // below this a split costs more than it saves
  const bool split_m = m >= n;
  const int extent = split_m ? m : n;
  const int teams = std::max(1, std::min(threads, extent / kMinBlock));
  if (teams <= 1) {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#pragma omp parallel num_threads(teams)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    // Blocks in multiples of 16 rows/columns (the kernels' tile) except the last.
    const int per = ((extent + nt - 1) / nt + 15) / 16 * 16;
    const int lo = std::min(extent, t * per), hi = std::min(extent, lo + per);
    if (hi > lo) {
      if (split_m) {
        // Rows lo..hi of C come from rows lo..hi of op(A).
        const float* a_blk = trans_a ? a + lo : a + static_cast<std::ptrdiff_t>(lo) * lda;
        cblas_sgemm(CblasRowMajor, ta, tb, hi - lo, n, k, alpha, a_blk, lda, b, ldb, beta,
                    c + static_cast<std::ptrdiff_t>(lo) * ldc, ldc);
      } else {
        // Columns lo..hi of C come from columns lo..hi of op(B).
        const float* b_blk = trans_b ? b + static_cast<std::ptrdiff_t>(lo) * ldb : b + lo;
        cblas_sgemm(CblasRowMajor, ta, tb, m, hi - lo, k, alpha, a, lda, b_blk, ldb, beta, c + lo, ldc);
      }
    }
  }
}


void cpu_sgemm_fixed_tiles(GemmLibrary lib, int threads, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                           const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  if (lib == GemmLibrary::OpenBlas && openblas_get_num_threads() != 1) openblas_set_num_threads(1);
  const int row_tiles = (m + kFixedTileRows - 1) / kFixedTileRows, col_tiles = (n + kFixedTileCols - 1) / kFixedTileCols;
  const int tiles = row_tiles * col_tiles;
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  // Each tile is one single-threaded call; which thread runs it changes nothing it computes.
  int failed = static_cast<int>(dnnl_success);
#pragma omp parallel for num_threads(std::max(1, std::min(threads, tiles))) schedule(dynamic, 1)
  for (int t = 0; t < tiles; ++t) {
    const int r0 = (t / col_tiles) * kFixedTileRows, c0 = (t % col_tiles) * kFixedTileCols;
    const int rows = std::min(kFixedTileRows, m - r0), cols = std::min(kFixedTileCols, n - c0);
    const float* a_blk = trans_a ? a + r0 : a + static_cast<std::ptrdiff_t>(r0) * lda;
    const float* b_blk = trans_b ? b + static_cast<std::ptrdiff_t>(c0) * ldb : b + c0;
    float* c_blk = c + static_cast<std::ptrdiff_t>(r0) * ldc + c0;
    if (lib == GemmLibrary::OneDnn) {
      // oneDNN threads by omp_get_max_threads(), which a team of one does not lower and which
      // changes how it blocks a product: one thread per tile, set for this task only.
      omp_set_num_threads(1);
      const dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', rows, cols, k, alpha, a_blk, lda,
                                          b_blk, ldb, beta, c_blk, ldc);
      if (st != dnnl_success) {
#pragma omp atomic write
        failed = static_cast<int>(st);
      }
    } else {
      cblas_sgemm(CblasRowMajor, ta, tb, rows, cols, k, alpha, a_blk, lda, b_blk, ldb, beta, c_blk, ldc);
    }
  }
  SPECVAE_CHECK(failed == static_cast<int>(dnnl_success), "dnnl_sgemm({}x{}x{}) returned status {}", m, n, k, failed);
}

}  // namespace specvae::model
