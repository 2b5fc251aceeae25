// Exact brute-force kNN candidates, register-tiled: a block of 16 points (one AVX-512
// vector per coordinate, all d coordinates kept in registers) is compared with a tile of 8
// queries at once, so each point coordinate is loaded once per 8 queries; the running k-th
// distance of each query is compared a whole vector at a time and only lanes that beat it
// reach the scalar insertion. On 10-d latent means the k-d tree prunes poorly (it scans most
// leaves), so this is the faster exact method there (bench/RESULTS.md).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <omp.h>

#include "specvae/score/bruteforce_tile.hpp"
#include "specvae/neighbours/kdtree.hpp"

namespace specvae::score {

using neighbours::kDistanceLanes;
using neighbours::squared_distances;
using neighbours::TopList;

namespace {

constexpr int kQueryTile = 8;
constexpr int kMaxDim = 16;  // coordinates held in registers; larger d uses the portable path
constexpr std::int64_t kPointBlock = 4096;  // 4096 × d floats stay in L2 across a query tile

// Ranks by ‖y‖² − 2x·y (‖x‖² is constant per query): one FMA per coordinate instead of a
// subtraction and an FMA. That key loses digits to cancellation (‖y‖² ≫ d² far from the
// centre), so the points are centred first and the caller fetches extra candidates and
// re-ranks them with exact double distances. Identical points get identical keys, so ties
// among duplicates still go to the smaller index.
__attribute__((target("avx512f"))) void tile_avx512(const float* cols, const float* norms, std::int64_t stride,
                                                    int d, std::int64_t b0, std::int64_t b1, std::int64_t n,
                                                    const float* xq, int nq, TopList* tops) {
  float worst[kQueryTile];
  __m512 m2x[kQueryTile][kMaxDim];
  for (int q = 0; q < nq; ++q) {
    worst[q] = tops[q].worst();
    for (int j = 0; j < d; ++j) m2x[q][j] = _mm512_set1_ps(-2.0f * xq[q * d + j]);
  }
  alignas(64) float lanes[16];
  for (std::int64_t p0 = b0; p0 < b1; p0 += 16) {
    __m512 c[kMaxDim];
    for (int j = 0; j < d; ++j) c[j] = _mm512_loadu_ps(cols + j * stride + p0);
    const __m512 ny = _mm512_loadu_ps(norms + p0);
    for (int q = 0; q < nq; ++q) {
      __m512 acc = ny;
      for (int j = 0; j < d; ++j) acc = _mm512_fmadd_ps(c[j], m2x[q][j], acc);
      __mmask16 m = _mm512_cmp_ps_mask(acc, _mm512_set1_ps(worst[q]), _CMP_LE_OQ);
      if (m) {
        _mm512_store_ps(lanes, acc);
        while (m) {
          const int l = __builtin_ctz(m);
          m &= m - 1;
          const std::int64_t id = p0 + l;
          if (id < n && tops[q].accepts(lanes[l], id)) tops[q].insert(lanes[l], id);
        }
        worst[q] = tops[q].worst();
      }
    }
  }
}

void tile_portable(const float* cols, std::int64_t stride, int d, std::int64_t b0, std::int64_t b1,
                   std::int64_t n, const float* xq, int nq, TopList* tops) {
  std::vector<float> dist(static_cast<std::size_t>(b1 - b0) + kDistanceLanes);
  for (int q = 0; q < nq; ++q) {
    squared_distances(cols, stride, d, b0, b1, xq + q * d, dist.data());
    for (std::int64_t i = b0; i < std::min(b1, n); ++i)
      if (dist[i - b0] <= tops[q].worst() && tops[q].accepts(dist[i - b0], i)) tops[q].insert(dist[i - b0], i);
  }
}

}  // namespace

bool bruteforce_uses_avx512(int d) { return d <= kMaxDim && __builtin_cpu_supports("avx512f"); }

int bruteforce_extra_candidates(int d) { return bruteforce_uses_avx512(d) ? 16 : 0; }

void bruteforce_candidates_tiled(std::span<const float> points, std::int64_t n, int d, std::int64_t q_begin,
                                 std::int64_t nq, int cap, std::int64_t* ids, float* d2, int threads) {
  const std::int64_t stride = (n + kDistanceLanes - 1) / kDistanceLanes * kDistanceLanes + kDistanceLanes;
  const bool avx512 = bruteforce_uses_avx512(d);
  // Centred (in double) for the expanded key; the portable path uses direct differences.
  std::vector<double> mean(d, 0.0);
  if (avx512) {
    for (std::int64_t i = 0; i < n; ++i)
      for (int j = 0; j < d; ++j) mean[j] += points[i * d + j];
    for (double& m : mean) m /= static_cast<double>(std::max<std::int64_t>(n, 1));
  }
  std::vector<float> cols(static_cast<std::size_t>(stride) * d, 0.0f), norms(stride, 0.0f), xc(static_cast<std::size_t>(n) * d);
  for (std::int64_t i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) {
      const float v = static_cast<float>(points[i * d + j] - mean[j]);
      xc[i * d + j] = v;
      cols[static_cast<std::size_t>(j) * stride + i] = v;
      norms[i] += v * v;
    }
  const std::int64_t tiles = (nq + kQueryTile - 1) / kQueryTile;
#pragma omp parallel for schedule(dynamic, 4) num_threads(threads > 0 ? threads : omp_get_max_threads())
  for (std::int64_t t = 0; t < tiles; ++t) {
    const std::int64_t q0 = t * kQueryTile;
    const int m = static_cast<int>(std::min<std::int64_t>(kQueryTile, nq - q0));
    std::vector<TopList> tops;
    tops.reserve(kQueryTile);
    for (int q = 0; q < m; ++q) tops.emplace_back(cap, ids + (q0 + q) * cap, d2 + (q0 + q) * cap);
    const float* xq = xc.data() + (q_begin + q0) * d;
    // Blocks whose end is rounded up to whole vectors; lanes past n are ignored.
    for (std::int64_t b0 = 0; b0 < n; b0 += kPointBlock) {
      const std::int64_t b1 = std::min(b0 + kPointBlock, (n + 15) / 16 * 16);
      if (avx512)
        tile_avx512(cols.data(), norms.data(), stride, d, b0, b1, n, xq, m, tops.data());
      else
        tile_portable(cols.data(), stride, d, b0, b1, n, xq, m, tops.data());
    }
  }
}

}  // namespace specvae::score
