// Exact k nearest neighbours on one GPU, by brute force (the FAISS GpuIndexFlat
// pattern): points centred on the base mean (cuML's advice: keeps the expanded form
// ‖q‖² + ‖b‖² − 2·q·b accurate), cuBLAS for −2·Q·Bᵀ per (query tile × base tile), a fused
// add-norms + k-selection kernel merging every base tile into a running list, and the
// chosen neighbours' distances recomputed exactly in double at the end. For d ≤ 16 a fused
// scan computes the same candidates on chip instead (GpuKnnMethod).
//
// Tie policy: candidates are ordered by (distance, index), so among equal distances the
// smaller global index wins — in the float selection and again in the double re-sort. The
// selection keeps 16 spare candidates beyond the k (+ self) needed, and the double re-sort
// picks the k among them, so rounding of the expanded form (≈1e-7 relative to the norms)
// changes a neighbour set only when more than 16 candidates crowd across the k-th place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace specvae::gpu {

// Largest k the GPU search takes (k + the query itself fit its candidate lists).
inline constexpr int kGpuKnnMaxK = 127;

// Gemm: cuBLAS −2·Q·Bᵀ tiles written to memory, then the add-norms + selection kernel (any
// dimension). Fused: for dim ≤ 16, distances computed and selected on chip, the distance
// matrix never written (the 10M-point path). Auto: Fused when dim ≤ 16.
enum class GpuKnnMethod { Auto, Gemm, Fused };

struct GpuKnnOptions {
  GpuKnnMethod method = GpuKnnMethod::Auto;
  int device = 0;
  std::int64_t query_tile = 0;  // rows per query tile; 0 = from the memory budget
  std::int64_t base_tile = 0;   // rows per base tile; 0 = min(n_b, 2^20)
  bool profile = false;         // synchronise around phases to time them (slower)
  bool keep_candidates = false; // also return every query's candidate list (GpuKnnResult)
};

struct GpuKnnStats {
  double seconds = 0;          // whole call, uploads and downloads included
  double gemm_seconds = 0;     // with profile: time in the distance GEMMs
  double select_seconds = 0;   // with profile: time in the selection kernels
  double gemm_flops = 0;       // 2·n_q·n_b·dim
  double gemm_bytes_out = 0;   // 4·n_q·n_b: the distance tiles the GEMMs write (what bounds them at small dim)
  int query_tiles = 0, base_tiles = 0;
  bool fused = false;          // which path ran
};

struct GpuKnnResult {
  int k = 0;
  std::vector<std::int64_t> index;  // [n_q × k] rows of `base`, sorted by (distance, index)
  std::vector<double> distance;     // [n_q × k] Euclidean, recomputed in double
  // With keep_candidates: the k_cand candidates (k (+ self) and the spares, by float distance)
  // each query's neighbours were chosen from, base rows [n_q × k_cand], so a caller can tell
  // rows whose float ranking could not resolve them (see score/knn.hpp).
  int k_cand = 0;
  std::vector<std::int32_t> candidates;
  GpuKnnStats stats;
};

// The k nearest rows of base (n_b × dim, row-major, host) for each row of queries (n_q × dim,
// host). exclude_self_offset ≥ 0 states that queries are base rows [offset, offset + n_q):
// each query's k+1 nearest are found and the query itself removed (scikit-learn's
// kneighbors(X=None): if it is not among them, the first column goes). Requires
// 1 ≤ k ≤ 127, k ≤ n_b (k ≤ n_b − 1 when excluding self), n_b < 2^31. Throws InputError.
GpuKnnResult gpu_knn(const float* queries, std::int64_t n_q, const float* base, std::int64_t n_b, int dim, int k,
                     std::int64_t exclude_self_offset, const GpuKnnOptions& options = {});

// Device memory gpu_knn takes for n_q queries that are rows of an n_b-point base (the
// self-excluding search LOF runs), on the path GpuKnnMethod::Auto picks: the base (original,
// centred, norms, the fused path's padded copy), the query tiles' candidate lists and the
// results; the tiled path's distance tiles are sized from the free memory and not counted.
std::size_t gpu_knn_device_bytes(std::int64_t n_q, std::int64_t n_b, int dim, int k);
// Whether that fits the free memory of `device` with a 25% margin; *need and *free get the
// figures for a message.
bool gpu_knn_fits(int device, std::int64_t n_q, std::int64_t n_b, int dim, int k, std::size_t* need = nullptr,
                  std::size_t* free = nullptr);

}  // namespace specvae::gpu
