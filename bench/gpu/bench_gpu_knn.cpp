// Exact kNN on the GPU + LOF for N points in 10-d (latent-like: a mixture of anisotropic
// Gaussian clumps plus a sprinkle of outliers), k = 20. Reports the wall time of the GPU
// search of every row's neighbours (gpu_knn, one run after a small warm-up call) and of the
// LOF steps on those neighbours (neighbours/lof_steps.hpp, on the CPU, as `specvae score`
// computes them); with profile (synchronised around each phase, tiled path
// only) also the distance GEMMs' time, their fraction of the fp32 peak (SMs × FP32 lanes ×
// 2 × clock) and the bandwidth at which they write the distance tiles.
// Usage: specvae_bench_gpu_knn N [gemm|fused|auto] [profile=1]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>

#include "specvae/gpu/knn_cuda.hpp"
#include "specvae/gpu/resources.hpp"
#include "specvae/neighbours/lof_steps.hpp"

using namespace specvae;

namespace {
// FP32 lanes per SM by architecture (CUDA C programming guide, arithmetic throughput table).
int fp32_lanes_per_sm(int major, int minor) {
  if (major == 8 && minor == 0) return 64;  // A100
  if (major >= 8) return 128;               // sm_86/89/90/100
  return 64;
}

double fp32_peak_flops(int device) {
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, device) != cudaSuccess) return 0;
  int khz = 0;
  cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, device);
  return double(p.multiProcessorCount) * fp32_lanes_per_sm(p.major, p.minor) * 2.0 * khz * 1e3;
}

std::vector<float> latent_like(std::int64_t n, int d) {
  std::mt19937_64 gen(7);
  std::normal_distribution<float> g(0, 1);
  std::uniform_real_distribution<float> u(-6, 6);
  const int clumps = 40;
  std::vector<float> centre(static_cast<std::size_t>(clumps) * d), scale(centre.size());
  for (auto& c : centre) c = 2.0f * g(gen);
  for (auto& s : scale) s = 0.1f + 0.4f * std::abs(g(gen));
  std::vector<float> x(static_cast<std::size_t>(n) * d);
  for (std::int64_t i = 0; i < n; ++i) {
    const bool outlier = i % 1000 == 999;
    const int c = static_cast<int>(gen() % clumps);
    for (int j = 0; j < d; ++j)
      x[static_cast<std::size_t>(i * d + j)] =
          outlier ? u(gen) : centre[static_cast<std::size_t>(c * d + j)] + scale[static_cast<std::size_t>(c * d + j)] * g(gen);
  }
  return x;
}
}  // namespace

int main(int argc, char** argv) {
  const std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 1000000;
  const std::string method_name = argc > 2 ? argv[2] : "auto";
  const bool profile = argc > 3 ? std::atoi(argv[3]) != 0 : true;
  gpu::GpuKnnOptions base_opt;
  base_opt.method = method_name == "gemm" ? gpu::GpuKnnMethod::Gemm
                    : method_name == "fused" ? gpu::GpuKnnMethod::Fused : gpu::GpuKnnMethod::Auto;
  const int d = 10, k = 20;
  if (gpu_device_count() == 0) {
    std::printf("no GPU: %s\n", gpu_unavailable_reason().c_str());
    return 2;
  }
  const auto x = latent_like(n, d);
  const std::int64_t n_warm = std::min<std::int64_t>(n, 20000);
  gpu::gpu_knn(x.data(), n_warm, x.data(), n_warm, d, k, 0, base_opt);  // warm-up: context, cuBLAS, kernels
  // The tiled path runs once, profiled (a stream sync per tile: < 1% at these tile sizes); the
  // fused scan once, unprofiled. Each row is flushed as soon as it is known, so a later kill
  // cannot take it with it.
  gpu::GpuKnnOptions opt = base_opt;
  opt.profile = profile;
  const auto run = gpu::gpu_knn(x.data(), n, x.data(), n, d, k, 0, opt);
  const auto t_lof = std::chrono::steady_clock::now();
  const std::vector<double> nof = neighbours::negative_outlier_factor_all({run.k, run.index, run.distance});
  const double lof_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_lof).count();
  double nof_min = 0;
  for (double v : nof) nof_min = std::min(nof_min, v);
  std::printf("| exact kNN + LOF (k=20, d=10), %s | %lld | %.2f s (LOF steps on the CPU: %.2f s) | tiles %d×%d | min NOF %.2f |",
              run.stats.fused ? "fused scan" : "cuBLAS tiles + select", static_cast<long long>(n),
              run.stats.seconds + lof_seconds, lof_seconds, run.stats.query_tiles, run.stats.base_tiles, nof_min);
  if (profile && !run.stats.fused && run.stats.gemm_seconds > 0) {
    // With 10-d points each distance is 20 flops and a 4-byte store: the GEMMs are bound by
    // writing the tiles, so their store bandwidth is the number to read against HBM's.
    const double peak = fp32_peak_flops(0);
    const double achieved = run.stats.gemm_flops / run.stats.gemm_seconds;
    std::printf(" GEMM %.2f s (%.1f TFLOP/s = %.1f%% of fp32 peak %.1f TFLOP/s; tiles written at %.2f TB/s), select %.2f s |",
                run.stats.gemm_seconds, achieved / 1e12, 100.0 * achieved / peak, peak / 1e12,
                run.stats.gemm_bytes_out / run.stats.gemm_seconds / 1e12, run.stats.select_seconds);
  } else {
    std::printf(" (not profiled) |");
  }
  std::printf("\n");
  std::fflush(stdout);
  return 0;
}
