// The tiled brute-force kNN driver (see specvae/gpu/knn_cuda.hpp): uploads, centring, the tile
// loops over cuBLAS GEMMs and the selection kernel (or the fused scan), and the refinement.
#include "specvae/gpu/knn_cuda.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "cublas_rowmajor.hpp"
#include "cuda_buffer.hpp"
#include "cuda_check.cuh"
#include "knn_fused.h"
#include "knn_ops.h"
#include "specvae/core/error.hpp"
#include "specvae/gpu/resources.hpp"

namespace specvae::gpu {
namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void h2d(void* dst, const void* src, std::size_t bytes, cudaStream_t s) {
  if (bytes) SPECVAE_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s));
}
void d2h(void* dst, const void* src, std::size_t bytes, cudaStream_t s) {
  if (bytes) SPECVAE_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
}

// Mean of the base rows in double, as floats (the shift only has to be close to the centre).
std::vector<float> column_means(const float* x, std::int64_t n, int d) {
  std::vector<double> acc(static_cast<std::size_t>(d), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) acc[static_cast<std::size_t>(j)] += x[i * d + j];
  std::vector<float> mean(static_cast<std::size_t>(d));
  for (int j = 0; j < d; ++j) mean[static_cast<std::size_t>(j)] = static_cast<float>(acc[static_cast<std::size_t>(j)] / double(n));
  return mean;
}

// Base points on the device: original and centred coordinates and the centred squared norms.
struct DeviceBase {
  DeviceBase(const float* host, std::int64_t n, int d, cudaStream_t s)
      : original(CudaBuffer<float>::device(static_cast<std::size_t>(n) * d, s)),
        centred(CudaBuffer<float>::device(static_cast<std::size_t>(n) * d, s)),
        norms(CudaBuffer<float>::device(static_cast<std::size_t>(n), s)),
        mean(CudaBuffer<float>::device(static_cast<std::size_t>(d), s)) {
    const std::size_t bytes = static_cast<std::size_t>(n) * d * sizeof(float);
    h2d(original.get(), host, bytes, s);
    host_mean = column_means(host, n, d);
    h2d(mean.get(), host_mean.data(), host_mean.size() * sizeof(float), s);
    if (bytes) SPECVAE_CUDA_CHECK(cudaMemcpyAsync(centred.get(), original.get(), bytes, cudaMemcpyDeviceToDevice, s));
    kernels::launch_centre_rows(centred.get(), n, d, mean.get(), s);
    kernels::launch_row_sq_norms(centred.get(), n, d, norms.get(), s);
    // host_mean must outlive the async upload: wait here (once per call).
    SPECVAE_CUDA_CHECK(cudaStreamSynchronize(s));
  }
  CudaBuffer<float> original, centred, norms, mean;
  std::vector<float> host_mean;
};

struct Queries {
  const float* original;
  const float* centred;
  const float* norms;
  std::int64_t n;
};

static_assert(kGpuKnnMaxK + 1 == kernels::kMaxKnnSelect, "kGpuKnnMaxK and the kernels' candidate lists disagree");

// Candidates kept beyond the k_sel needed (fewer when kMaxKnnSelect or the base is smaller).
constexpr int kSpareCandidates = 16;

// The fused path: padded centred copies, query tiles of ≤ 2^20 rows (a launch takes seconds
// at 10M base points, not minutes), the on-chip scan, then the same refinement.
void search_fused(GpuResources& gpu, const DeviceBase& base, std::int64_t n_b, const Queries& q, int dim, int k_cand,
                  int k_sel, std::int64_t self_begin, int k, std::int64_t* out_index, double* out_distance,
                  std::int32_t* host_candidates, const GpuKnnOptions& opt, GpuKnnStats& stats) {
  auto stream = static_cast<cudaStream_t>(gpu.compute_stream());
  const int d_pad = kernels::knn_fused_pad(dim);
  auto b_pad = CudaBuffer<float>::device(static_cast<std::size_t>(n_b) * d_pad, stream);
  auto q_pad = CudaBuffer<float>::device(static_cast<std::size_t>(q.n) * d_pad, stream);
  kernels::launch_pad_rows(base.centred.get(), n_b, dim, d_pad, b_pad.get(), stream);
  kernels::launch_pad_rows(q.centred, q.n, dim, d_pad, q_pad.get(), stream);
  const std::int64_t q_tile = std::min<std::int64_t>(std::max<std::int64_t>(q.n, 1),
                                                     opt.query_tile > 0 ? opt.query_tile : std::int64_t{1} << 20);
  auto best_d = CudaBuffer<float>::device(static_cast<std::size_t>(q_tile) * k_cand, stream);
  auto best_i = CudaBuffer<std::int32_t>::device(static_cast<std::size_t>(q_tile) * k_cand, stream);
  stats.fused = true;
  stats.query_tiles = static_cast<int>((q.n + q_tile - 1) / q_tile);
  stats.base_tiles = 1;
  for (std::int64_t q0 = 0; q0 < q.n; q0 += q_tile) {
    const int rows = static_cast<int>(std::min(q_tile, q.n - q0));
    const std::int64_t tile_self = self_begin >= 0 ? self_begin + q0 : -1;
    if (opt.profile) SPECVAE_CUDA_CHECK(cudaStreamSynchronize(stream));  // the previous refine is not the scan's
    auto t0 = Clock::now();
    kernels::launch_knn_fused_scan(q_pad.get() + q0 * d_pad, q.norms + q0, rows, b_pad.get(), base.norms.get(), n_b,
                                   d_pad, tile_self, k_cand, best_d.get(), best_i.get(), stream);
    if (opt.profile) {
      SPECVAE_CUDA_CHECK(cudaStreamSynchronize(stream));
      stats.select_seconds += since(t0);
    }
    if (host_candidates)  // in stream order, before the next tile's scan rewrites best_i
      d2h(host_candidates + q0 * k_cand, best_i.get(), static_cast<std::size_t>(rows) * k_cand * sizeof(std::int32_t), stream);
    kernels::launch_knn_refine(q.original + q0 * dim, rows, base.original.get(), dim, best_i.get(), k_cand, k_sel,
                               tile_self, k, out_index + q0 * k, out_distance + q0 * k, stream);
  }
}

// The search proper, all on the device: out_index/out_distance [n_q × k].
int candidates_kept(int k_sel, std::int64_t n_b) {
  return static_cast<int>(std::min<std::int64_t>({kernels::kMaxKnnSelect, k_sel + kSpareCandidates, n_b}));
}

void search(GpuResources& gpu, const DeviceBase& base, std::int64_t n_b, const Queries& q, int dim, int k_sel,
            std::int64_t self_begin, int k, std::int64_t* out_index, double* out_distance,
            std::int32_t* host_candidates, const GpuKnnOptions& opt, GpuKnnStats& stats) {
  auto stream = static_cast<cudaStream_t>(gpu.compute_stream());
  // Spare candidates: the selection ranks by float distances from the expanded form, whose
  // rounding (≈ 1e-7 of ‖q‖² + ‖b‖²) can swap true neighbours across the k_sel-th place when
  // the points lie far from their mean relative to their spacing; the refinement re-ranks
  // k_cand candidates in double and keeps the first k_sel (the CPU brute force does the same).
  const int k_cand = candidates_kept(k_sel, n_b);
  const bool fused = opt.method == GpuKnnMethod::Fused ||
                     (opt.method == GpuKnnMethod::Auto && dim <= kernels::kKnnFusedMaxDim);
  if (fused) {
    if (dim > kernels::kKnnFusedMaxDim)
      throw InputError(fmt::format("gpu kNN: the fused scan supports dim ≤ {}, got {}", kernels::kKnnFusedMaxDim, dim));
    search_fused(gpu, base, n_b, q, dim, k_cand, k_sel, self_begin, k, out_index, out_distance, host_candidates, opt,
                 stats);
    return;
  }
  auto cublas = static_cast<cublasHandle_t>(gpu.cublas());
  // Never TF32 here: 10-bit products would swamp the small distances LOF lives on.
  SPECVAE_CUBLAS_CHECK(cublasSetMathMode(cublas, CUBLAS_DEFAULT_MATH));
  const std::int64_t b_tile = std::max<std::int64_t>(1, std::min(n_b, opt.base_tile > 0 ? opt.base_tile : std::int64_t{1} << 20));
  std::int64_t q_tile = opt.query_tile;
  if (q_tile <= 0) {
    // The distance tile takes at most a quarter of free memory and 4 GiB: large enough that
    // launches amortise, small enough to leave room for the inputs and outputs.
    std::size_t free_b = 0, total_b = 0;
    SPECVAE_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    const std::size_t budget = std::min<std::size_t>(free_b / 4, std::size_t{4} << 30);
    q_tile = static_cast<std::int64_t>(budget / (sizeof(float) * static_cast<std::size_t>(b_tile)));
    q_tile = std::clamp<std::int64_t>(q_tile, 1, 65535);
  }
  q_tile = std::min(q_tile, std::max<std::int64_t>(q.n, 1));
  auto ip = CudaBuffer<float>::device(static_cast<std::size_t>(q_tile) * static_cast<std::size_t>(b_tile), stream);
  auto best_d = CudaBuffer<float>::device(static_cast<std::size_t>(q_tile) * k_cand, stream);
  auto best_i = CudaBuffer<std::int32_t>::device(static_cast<std::size_t>(q_tile) * k_cand, stream);
  stats.query_tiles = static_cast<int>((q.n + q_tile - 1) / q_tile);
  stats.base_tiles = static_cast<int>((n_b + b_tile - 1) / b_tile);
  stats.gemm_flops = 2.0 * double(q.n) * double(n_b) * dim;
  stats.gemm_bytes_out = 4.0 * double(q.n) * double(n_b);

  for (std::int64_t q0 = 0; q0 < q.n; q0 += q_tile) {
    const int rows = static_cast<int>(std::min(q_tile, q.n - q0));
    const std::int64_t tile_self = self_begin >= 0 ? self_begin + q0 : -1;
    for (std::int64_t b0 = 0; b0 < n_b; b0 += b_tile) {
      const int cols = static_cast<int>(std::min(b_tile, n_b - b0));
      if (opt.profile) SPECVAE_CUDA_CHECK(cudaStreamSynchronize(stream));  // the previous refine is not the GEMM's
      auto t0 = Clock::now();
      // ip[rows × cols] = −2 · Qc[q0 : q0+rows] · Bc[b0 : b0+cols]ᵀ (row-major, ld = cols).
      sgemm_row_major(cublas, false, true, rows, cols, dim, -2.0f, q.centred + q0 * dim, dim,
                      base.centred.get() + b0 * dim, dim, 0.0f, ip.get(), cols);
      if (opt.profile) {
        SPECVAE_CUDA_CHECK(cudaStreamSynchronize(stream));
        stats.gemm_seconds += since(t0);
        t0 = Clock::now();
      }
      kernels::launch_knn_select_tile(ip.get(), cols, rows, cols, q.norms + q0, base.norms.get() + b0, b0, tile_self,
                                      k_cand, b0 == 0, best_d.get(), best_i.get(), stream);
      if (opt.profile) {
        SPECVAE_CUDA_CHECK(cudaStreamSynchronize(stream));
        stats.select_seconds += since(t0);
      }
    }
    if (host_candidates)  // in stream order, before the next query tile rewrites best_i
      d2h(host_candidates + q0 * k_cand, best_i.get(), static_cast<std::size_t>(rows) * k_cand * sizeof(std::int32_t), stream);
    kernels::launch_knn_refine(q.original + q0 * dim, rows, base.original.get(), dim, best_i.get(), k_cand, k_sel,
                               tile_self, k, out_index + q0 * k, out_distance + q0 * k, stream);
  }
}

void check_sizes(std::int64_t n_q, std::int64_t n_b, int dim, int k, bool exclude_self) {
  if (dim < 1) throw InputError(fmt::format("gpu kNN: dimension {} < 1", dim));
  if (n_q < 0 || n_b < 1) throw InputError(fmt::format("gpu kNN: {} queries over {} base points", n_q, n_b));
  if (n_b >= std::numeric_limits<std::int32_t>::max())
    throw InputError(fmt::format("gpu kNN: {} base points exceed the 2^31 − 1 index range", n_b));
  const int k_sel = k + (exclude_self ? 1 : 0);
  if (k < 1 || k_sel > kernels::kMaxKnnSelect || k_sel > n_b)
    throw InputError(fmt::format("gpu kNN: k = {} needs 1 ≤ k ≤ {} and k{} ≤ {} base points", k,
                                 kernels::kMaxKnnSelect - 1, exclude_self ? " + 1 (self)" : "", n_b));
}
}  // namespace

GpuKnnResult gpu_knn(const float* queries, std::int64_t n_q, const float* base, std::int64_t n_b, int dim, int k,
                     std::int64_t exclude_self_offset, const GpuKnnOptions& options) {
  const auto t0 = Clock::now();
  const bool self = exclude_self_offset >= 0;
  check_sizes(n_q, n_b, dim, k, self);
  if (self && exclude_self_offset + n_q > n_b)
    throw InputError(fmt::format("gpu kNN: queries [{}, {}) are not rows of the {} base points", exclude_self_offset,
                                 exclude_self_offset + n_q, n_b));
  GpuResources gpu(options.device);
  auto stream = static_cast<cudaStream_t>(gpu.compute_stream());
  GpuKnnResult result;
  result.k = k;
  DeviceBase dbase(base, n_b, dim, stream);
  const int k_sel = k + (self ? 1 : 0);
  // Queries: when they are base rows, their (identical) rows of the base are used.
  std::unique_ptr<DeviceBase> own_queries;
  Queries q{};
  q.n = n_q;
  if (self) {
    q.original = dbase.original.get() + exclude_self_offset * dim;
    q.centred = dbase.centred.get() + exclude_self_offset * dim;
    q.norms = dbase.norms.get() + exclude_self_offset;
  } else {
    own_queries = std::make_unique<DeviceBase>(queries, n_q, dim, stream);
    // Re-centre the queries on the base mean (DeviceBase centred them on their own).
    SPECVAE_CUDA_CHECK(cudaMemcpyAsync(own_queries->centred.get(), own_queries->original.get(),
                                       static_cast<std::size_t>(n_q) * dim * sizeof(float), cudaMemcpyDeviceToDevice, stream));
    h2d(own_queries->mean.get(), dbase.host_mean.data(), dbase.host_mean.size() * sizeof(float), stream);
    kernels::launch_centre_rows(own_queries->centred.get(), n_q, dim, own_queries->mean.get(), stream);
    kernels::launch_row_sq_norms(own_queries->centred.get(), n_q, dim, own_queries->norms.get(), stream);
    q.original = own_queries->original.get();
    q.centred = own_queries->centred.get();
    q.norms = own_queries->norms.get();
  }
  const std::size_t out_n = static_cast<std::size_t>(n_q) * k;
  auto d_index = CudaBuffer<std::int64_t>::device(out_n, stream);
  auto d_dist = CudaBuffer<double>::device(out_n, stream);
  if (options.keep_candidates) {
    result.k_cand = candidates_kept(k_sel, n_b);
    result.candidates.resize(static_cast<std::size_t>(n_q) * static_cast<std::size_t>(result.k_cand));
  }
  search(gpu, dbase, n_b, q, dim, k_sel, self ? exclude_self_offset : -1, k, d_index.get(), d_dist.get(),
         options.keep_candidates ? result.candidates.data() : nullptr, options, result.stats);
  result.index.resize(out_n);
  result.distance.resize(out_n);
  d2h(result.index.data(), d_index.get(), out_n * sizeof(std::int64_t), stream);
  d2h(result.distance.data(), d_dist.get(), out_n * sizeof(double), stream);
  SPECVAE_CUDA_CHECK(cudaStreamSynchronize(stream));
  result.stats.seconds = since(t0);
  return result;
}

std::size_t gpu_knn_device_bytes(std::int64_t n_q, std::int64_t n_b, int dim, int k) {
  const auto nq = static_cast<std::size_t>(std::max<std::int64_t>(n_q, 0));
  const auto nb = static_cast<std::size_t>(std::max<std::int64_t>(n_b, 0));
  const auto d = static_cast<std::size_t>(dim);
  const bool fused = dim <= 16;
  const std::size_t d_pad = fused ? static_cast<std::size_t>(kernels::knn_fused_pad(dim)) : 0;
  const std::size_t k_cand = static_cast<std::size_t>(std::min(kernels::kMaxKnnSelect, k + 1 + kSpareCandidates));
  const std::size_t q_tile = fused ? std::min<std::size_t>(nq, std::size_t{1} << 20) : std::min<std::size_t>(nq, 65535);
  return nb * (2 * d + 1) * sizeof(float)                      // base: original, centred, norms
         + nb * d_pad * sizeof(float) + nq * d_pad * sizeof(float)  // fused: padded base and queries
         + q_tile * k_cand * (sizeof(float) + sizeof(std::int32_t))  // candidate lists
         + nq * static_cast<std::size_t>(k) * (sizeof(std::int64_t) + sizeof(double));  // results
}

bool gpu_knn_fits(int device, std::int64_t n_q, std::int64_t n_b, int dim, int k, std::size_t* need, std::size_t* free) {
  std::size_t free_b = 0, total_b = 0;
  {
    GpuResources gpu(device);
    SPECVAE_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  }
  const std::size_t bytes = gpu_knn_device_bytes(n_q, n_b, dim, k);
  if (need) *need = bytes;
  if (free) *free = free_b;
  return bytes + bytes / 4 <= free_b;
}

}  // namespace specvae::gpu
