// The VAE's SGEMMs, library against library: every GEMM of one training step of the paper's
// model (forward Y = X·Wᵀ, weight gradient dW = dYᵀ·X, input gradient dX = dY·W) at
// M = 512 and 256 rows (the global batch on 1 and 2 ranks), through OpenBLAS and oneDNN as
// specvae calls them, on 1 and 2 threads. GFLOP/s counts 2·M·N·K per GEMM. BLIS is left out
// of this binary: its CBLAS symbols would interpose on OpenBLAS's (see bench/RESULTS.md).
#include <benchmark/benchmark.h>

#include <utility>
#include <vector>

#include "specvae/model/cpu_gemm.hpp"

using namespace specvae::model;

namespace {
std::vector<std::pair<int, int>> layer_sizes() {  // (in, out)
  return {{1000, 800}, {800, 600}, {600, 500}, {500, 300}, {300, 20},
          {10, 300},   {300, 500}, {500, 600}, {600, 800}, {800, 1000}};
}

// GCC 12 warns, wrongly, that the vectors below free a pointer with an offset (its range
// analysis of the inlined destructor). Silenced for this function only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#endif
void BM_VaeGemms(benchmark::State& state, GemmLibrary lib) {
  const int m = static_cast<int>(state.range(0)), threads = static_cast<int>(state.range(1));
  std::vector<float> x(static_cast<std::size_t>(m) * 1000, 0.5f), y(x.size(), 0.25f), w(1000 * 1000, 0.01f),
      g(1000 * 1000);
  double flops = 0;
  for (auto _ : state) {
    for (auto [k, n] : layer_sizes()) {
      cpu_sgemm(lib, threads, false, true, m, n, k, 1.0f, x.data(), k, w.data(), k, 0.0f, y.data(), n);
      cpu_sgemm(lib, threads, true, false, n, k, m, 1.0f, y.data(), n, x.data(), k, 0.0f, g.data(), k);
      flops += 4.0 * m * n * k;
      if (k != 1000) {
        cpu_sgemm(lib, threads, false, false, m, k, n, 1.0f, y.data(), n, w.data(), k, 0.0f, x.data(), k);
        flops += 2.0 * m * n * k;
      }
    }
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPs"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel(choose_gemm_library(lib == GemmLibrary::OneDnn ? "onednn" : "openblas").kernel);
}

// Scoring's forward GEMMs (encoder and decoder at M = score.batch_size = 4096 rows), the
// plain split against the fixed tiles that make a row's scores independent of its pass.
void BM_ScoreForward(benchmark::State& state, GemmLibrary lib, bool fixed_tiles) {
  const int m = 4096, threads = static_cast<int>(state.range(0));
  std::vector<float> x(static_cast<std::size_t>(m) * 1000, 0.5f), y(x.size(), 0.25f), w(1000 * 1000, 0.01f);
  double flops = 0;
  for (auto _ : state) {
    for (auto [k, n] : layer_sizes()) {
      if (fixed_tiles)
        cpu_sgemm_fixed_tiles(lib, threads, false, true, m, n, k, 1.0f, x.data(), k, w.data(), k, 0.0f, y.data(), n);
      else
        cpu_sgemm(lib, threads, false, true, m, n, k, 1.0f, x.data(), k, w.data(), k, 0.0f, y.data(), n);
      flops += 2.0 * m * n * k;
    }
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPs"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel(choose_gemm_library(lib == GemmLibrary::OneDnn ? "onednn" : "openblas").kernel);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
}  // namespace

BENCHMARK_CAPTURE(BM_ScoreForward, openblas_plain, GemmLibrary::OpenBlas, false)
    ->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScoreForward, openblas_fixed_tiles, GemmLibrary::OpenBlas, true)
    ->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScoreForward, onednn_plain, GemmLibrary::OneDnn, false)
    ->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScoreForward, onednn_fixed_tiles, GemmLibrary::OneDnn, true)
    ->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_CAPTURE(BM_VaeGemms, openblas, GemmLibrary::OpenBlas)
    ->ArgsProduct({{512, 256}, {1, 2}})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_VaeGemms, onednn, GemmLibrary::OneDnn)
    ->ArgsProduct({{512, 256}, {1, 2}})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
