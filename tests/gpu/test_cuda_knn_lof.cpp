// The GPU exact kNN against the production CPU search (`score.knn = kdtree`: the k-d tree
// through the exact re-rank, neighbours/exact_knn.hpp), and LOF from the GPU's neighbours —
// as gpu_knn returns them, and as `specvae score` takes them (its candidates through the same
// re-rank) — against LOF from the CPU's, both by the production LOF steps
// (neighbours/lof_steps.hpp): random, clustered and duplicated points, forced multi-tile
// searches, k up to 100; NOF within 1e-3. External queries (no self to exclude; `specvae
// score` never asks for them) are checked against a brute force written here. Both search
// paths (cuBLAS tiles + selection, and the fused on-chip scan) run every case.
#if SPECVAE_HAVE_CUDA
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "gpu_test_util.hpp"
#include "op_tolerances.hpp"
#include "specvae/core/error.hpp"
#include "specvae/gpu/knn_cuda.hpp"
#include "specvae/neighbours/exact_knn.hpp"
#include "specvae/neighbours/lof_steps.hpp"

using namespace specvae;
using namespace specvae::parity;

namespace {

struct Points {
  std::int64_t n = 0;
  int d = 0;
  std::vector<float> x;
  const float* row(std::int64_t i) const { return x.data() + i * d; }
};

Points uniform_points(std::int64_t n, int d, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  Points p{n, d, std::vector<float>(static_cast<std::size_t>(n) * d)};
  for (auto& v : p.x) v = u(gen);
  return p;
}

// Tight clusters far from the origin (the expanded form is only accurate after centring),
// with every 50th point repeated twice more (exact duplicates, fewer than k).
Points clustered_points(std::int64_t n, int d, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> g(0, 1);
  const int clusters = 12;
  std::vector<float> centres(static_cast<std::size_t>(clusters) * d);
  for (auto& c : centres) c = 1000.0f + 20.0f * g(gen);
  Points p{n, d, std::vector<float>(static_cast<std::size_t>(n) * d)};
  for (std::int64_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % clusters);
    const float spread = (c % 3 == 0) ? 0.05f : 0.5f;
    for (int j = 0; j < d; ++j) p.x[static_cast<std::size_t>(i * d + j)] = centres[static_cast<std::size_t>(c * d + j)] + spread * g(gen);
  }
  for (std::int64_t i = 0; i + 2 < n; i += 50)
    for (int rep = 1; rep <= 2; ++rep)
      std::copy(p.row(i), p.row(i) + d, p.x.begin() + (i + rep) * d);
  return p;
}

double exact_dist(const float* a, const float* b, int d) {
  double s = 0;
  for (int j = 0; j < d; ++j) {
    const double t = double(a[j]) - double(b[j]);
    s += t * t;
  }
  return std::sqrt(s);
}

using neighbours::KnnResult;

// The production CPU neighbours of rows [offset, offset + n_q) among all rows (n_q < 0: all).
KnnResult cpu_knn(const Points& all, int k, std::int64_t offset = 0, std::int64_t n_q = -1) {
  return neighbours::kdtree_neighbours(all.x, all.n, all.d, offset, n_q < 0 ? all.n - offset : n_q, k);
}

// External queries: the k smallest by (exact distance, index), by brute force.
KnnResult brute_force(const Points& q, const Points& base, int k) {
  KnnResult out{k, std::vector<std::int64_t>(static_cast<std::size_t>(q.n) * k), std::vector<double>(static_cast<std::size_t>(q.n) * k)};
  std::vector<std::pair<double, std::int64_t>> all(static_cast<std::size_t>(base.n));
  for (std::int64_t i = 0; i < q.n; ++i) {
    for (std::int64_t j = 0; j < base.n; ++j) all[static_cast<std::size_t>(j)] = {exact_dist(q.row(i), base.row(j), q.d), j};
    std::partial_sort(all.begin(), all.begin() + k, all.end());
    for (int c = 0; c < k; ++c) {
      out.index[static_cast<std::size_t>(i * k + c)] = all[static_cast<std::size_t>(c)].second;
      out.distance[static_cast<std::size_t>(i * k + c)] = all[static_cast<std::size_t>(c)].first;
    }
  }
  return out;
}

// Largest squared norm about the base mean: the scale of the expanded form's rounding.
double centred_scale(const Points& base) {
  std::vector<double> mean(static_cast<std::size_t>(base.d), 0.0);
  for (std::int64_t i = 0; i < base.n; ++i)
    for (int j = 0; j < base.d; ++j) mean[static_cast<std::size_t>(j)] += base.row(i)[j] / double(base.n);
  double scale = 0;
  for (std::int64_t i = 0; i < base.n; ++i) {
    double s = 0;
    for (int j = 0; j < base.d; ++j) s += std::pow(base.row(i)[j] - mean[static_cast<std::size_t>(j)], 2);
    scale = std::max(scale, s);
  }
  return scale;
}

// GPU neighbours as sets against the CPU's, tolerant of ties: every returned neighbour is
// distinct, not the query itself (when excluded), carries its exact distance, lies within
// the CPU's k-th distance up to the tie tolerance, and the rows are sorted.
// max_differing: rows whose sets may differ (ties are the exception on continuous data).
void expect_same_neighbours(const gpu::GpuKnnResult& got, const KnnResult& want, const Points& q, const Points& base,
                            std::int64_t self_offset, std::int64_t max_differing = -1) {
  ASSERT_EQ(got.k, want.k);
  const int k = want.k;
  ASSERT_EQ(got.index.size(), want.index.size());
  const double tie_d2 = tol::kKnnTieRel * 2.0 * centred_scale(base);
  int differing_rows = 0;
  for (std::int64_t i = 0; i < q.n; ++i) {
    const std::size_t row = static_cast<std::size_t>(i * k);
    std::vector<std::int64_t> g(got.index.begin() + row, got.index.begin() + row + k);
    std::vector<std::int64_t> w(want.index.begin() + row, want.index.begin() + row + k);
    const double kth = want.distance[row + k - 1];
    for (int c = 0; c < k; ++c) {
      const std::int64_t j = g[static_cast<std::size_t>(c)];
      ASSERT_GE(j, 0) << "query " << i;
      ASSERT_LT(j, base.n) << "query " << i;
      if (self_offset >= 0) {
        ASSERT_NE(j, self_offset + i) << "query " << i << " lists itself";
      }
      const double exact = exact_dist(q.row(i), base.row(j), q.d);
      ASSERT_NEAR(got.distance[row + c], exact, 1e-12 * (1 + exact)) << "query " << i << " col " << c;
      ASSERT_LE(exact * exact, kth * kth + tie_d2) << "query " << i << " neighbour " << j << " beyond the k-th";
      if (c > 0) {
        ASSERT_LE(got.distance[row + c - 1], got.distance[row + c]) << "query " << i << " unsorted";
      }
    }
    std::sort(g.begin(), g.end());
    ASSERT_TRUE(std::adjacent_find(g.begin(), g.end()) == g.end()) << "query " << i << " repeats a neighbour";
    std::sort(w.begin(), w.end());
    differing_rows += g != w;
  }
  EXPECT_LE(differing_rows, max_differing >= 0 ? max_differing : std::max<std::int64_t>(2, q.n / 20));
}

std::vector<double> cpu_nof(const Points& p, int k) { return neighbours::negative_outlier_factor_all(cpu_knn(p, k)); }

// NOF from the GPU's neighbours of every row, as gpu_knn returns them (its own double
// refinement) and as `specvae score` takes them (the candidates through the CPU re-rank).
struct GpuNof {
  std::vector<double> refined, rescored;
};
GpuNof gpu_nof(const Points& p, int k, gpu::GpuKnnOptions opt) {
  opt.keep_candidates = true;
  const auto g = gpu::gpu_knn(p.x.data(), p.n, p.x.data(), p.n, p.d, k, 0, opt);
  const std::vector<std::int64_t> cand(g.candidates.begin(), g.candidates.end());
  const KnnResult rescored = neighbours::exact_neighbours(p.x, p.n, p.d, 0, p.n, k, cand, g.k_cand, true, "cuda");
  return {neighbours::negative_outlier_factor_all(KnnResult{g.k, g.index, g.distance}),
          neighbours::negative_outlier_factor_all(rescored)};
}

void expect_nof_near(const std::vector<double>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < want.size(); ++i)
    if (std::abs(got[i] - want[i]) > worst) {
      worst = std::abs(got[i] - want[i]);
      at = i;
    }
  EXPECT_LE(worst, tol::kNofAbs) << what << ", row " << at << ": gpu " << got[at] << ", cpu " << want[at];
}
constexpr gpu::GpuKnnMethod kMethods[] = {gpu::GpuKnnMethod::Gemm, gpu::GpuKnnMethod::Fused};
const char* name(gpu::GpuKnnMethod m) { return m == gpu::GpuKnnMethod::Fused ? "fused" : "gemm"; }
}  // namespace

TEST(CudaKnn, RandomPointsSelfExcludedManyTiles) {
  SPECVAE_REQUIRE_GPU();
  const Points p = uniform_points(3001, 10, 1);
  const auto want = cpu_knn(p, 20);
  std::vector<std::int64_t> first;
  for (auto method : kMethods) {
    SCOPED_TRACE(name(method));
    gpu::GpuKnnOptions opt;
    opt.method = method;
    opt.query_tile = 257;  // uneven tiles on both axes: the running lists are merged 4 times
    opt.base_tile = 1000;
    const auto got = gpu::gpu_knn(p.x.data(), p.n, p.x.data(), p.n, p.d, 20, 0, opt);
    EXPECT_EQ(got.stats.fused, method == gpu::GpuKnnMethod::Fused);
    EXPECT_EQ(got.stats.query_tiles, 12);
    EXPECT_EQ(got.stats.base_tiles, method == gpu::GpuKnnMethod::Fused ? 1 : 4);
    expect_same_neighbours(got, want, p, p, 0);
    // Default tiling gives the same neighbours, and so does the other path.
    gpu::GpuKnnOptions plain;
    plain.method = method;
    const auto one_tile = gpu::gpu_knn(p.x.data(), p.n, p.x.data(), p.n, p.d, 20, 0, plain);
    EXPECT_EQ(one_tile.index, got.index);
    if (first.empty()) first = got.index;
    else EXPECT_EQ(got.index, first);
  }
}

TEST(CudaKnn, ClusteredFarFromOriginWithDuplicates) {
  SPECVAE_REQUIRE_GPU();
  const Points p = clustered_points(2400, 10, 2);
  const auto want = cpu_knn(p, 20);
  for (auto method : kMethods) {
    SCOPED_TRACE(name(method));
    gpu::GpuKnnOptions opt;
    opt.method = method;
    opt.base_tile = 700;
    const auto got = gpu::gpu_knn(p.x.data(), p.n, p.x.data(), p.n, p.d, 20, 0, opt);
    expect_same_neighbours(got, want, p, p, 0);
    // A duplicated point's first two neighbours are its copies, at distance exactly 0.
    EXPECT_EQ(got.distance[50 * 20], 0.0);
    EXPECT_EQ(got.distance[50 * 20 + 1], 0.0);
  }
}

TEST(CudaKnn, BlockOfQueriesInsideTheBase) {
  SPECVAE_REQUIRE_GPU();
  // A rank's own rows [offset, offset + n_q) against all rows: the distributed LOF's call.
  const Points all = uniform_points(2000, 7, 3);
  const std::int64_t offset = 700, n_q = 333;
  Points q{n_q, all.d, std::vector<float>(all.row(offset), all.row(offset + n_q))};
  const auto want = cpu_knn(all, 15, offset, n_q);
  for (auto method : kMethods) {
    SCOPED_TRACE(name(method));
    gpu::GpuKnnOptions opt;
    opt.method = method;
    const auto got = gpu::gpu_knn(q.x.data(), n_q, all.x.data(), all.n, all.d, 15, offset, opt);
    expect_same_neighbours(got, want, q, all, offset);
  }
}

TEST(CudaKnn, ExternalQueriesLargeK) {
  SPECVAE_REQUIRE_GPU();
  const Points base = uniform_points(1500, 10, 4);
  const Points q = uniform_points(200, 10, 5);
  for (int k : {1, 64, 100})
    for (auto method : kMethods) {
      SCOPED_TRACE(name(method));
      gpu::GpuKnnOptions opt;
      opt.method = method;
      opt.base_tile = 512;
      const auto got = gpu::gpu_knn(q.x.data(), q.n, base.x.data(), base.n, base.d, k, -1, opt);
      expect_same_neighbours(got, brute_force(q, base, k), q, base, -1);
    }
}

TEST(CudaKnn, MoreDuplicatesThanNeighbours) {
  SPECVAE_REQUIRE_GPU();
  // 40 copies of one point among random ones, k = 10: scikit-learn's corner case, where a
  // copy's k+1 nearest may not include itself; all neighbours are then copies at 0.
  Points p = uniform_points(500, 4, 6);
  for (std::int64_t i = 100; i < 140; ++i) std::copy(p.row(99), p.row(99) + p.d, p.x.begin() + i * p.d);
  const auto want = cpu_knn(p, 10);
  for (auto method : kMethods) {
    SCOPED_TRACE(name(method));
    gpu::GpuKnnOptions opt;
    opt.method = method;
    const auto got = gpu::gpu_knn(p.x.data(), p.n, p.x.data(), p.n, p.d, 10, 0, opt);
    // Which 10 of the 40 copies a copy lists is a tie; the tie checks still apply row by row.
    expect_same_neighbours(got, want, p, p, 0, p.n);
    for (int c = 0; c < 10; ++c) EXPECT_EQ(got.distance[static_cast<std::size_t>(120 * 10 + c)], 0.0);
  }
}

TEST(CudaKnn, AutoUsesGemmAboveSixteenDimensions) {
  SPECVAE_REQUIRE_GPU();
  const Points p = uniform_points(600, 24, 11);
  const auto got = gpu::gpu_knn(p.x.data(), p.n, p.x.data(), p.n, p.d, 12, 0);
  EXPECT_FALSE(got.stats.fused);
  expect_same_neighbours(got, cpu_knn(p, 12), p, p, 0);
  gpu::GpuKnnOptions fused;
  fused.method = gpu::GpuKnnMethod::Fused;
  const Points small = uniform_points(600, 16, 12);
  const auto got16 = gpu::gpu_knn(small.x.data(), small.n, small.x.data(), small.n, small.d, 12, 0, fused);
  EXPECT_TRUE(got16.stats.fused);
  expect_same_neighbours(got16, cpu_knn(small, 12), small, small, 0);
}

TEST(CudaKnn, RejectsBadSizes) {
  SPECVAE_REQUIRE_GPU();
  const Points p = uniform_points(10, 3, 7);
  EXPECT_THROW(gpu::gpu_knn(p.x.data(), p.n, p.x.data(), p.n, p.d, 10, 0), InputError);  // k + self > n
  EXPECT_THROW(gpu::gpu_knn(p.x.data(), p.n, p.x.data(), p.n, p.d, 0, -1), InputError);
  EXPECT_THROW(gpu::gpu_knn(p.x.data(), 5, p.x.data(), p.n, p.d, 3, 8), InputError);  // rows past the base
}

// What score.knn = auto checks before it takes the GPU: the estimate of the search's device
// memory (no GPU needed for that part) and the fit against the free memory.
TEST(CudaKnn, DeviceMemoryEstimateDecidesTheFit) {
  // One of 64 ranks at 30M latent means (10-d, k = 20): the base with its padded copy
  // (≈ 132 B a point, ≈ 4 GB) dominates; the rank's own queries add ≈ 0.3 GB.
  const std::size_t at30m = gpu::gpu_knn_device_bytes(470000, 30000000, 10, 20);
  EXPECT_GT(at30m, std::size_t{3960000000});
  EXPECT_LT(at30m, std::size_t{4400000000});
  EXPECT_LT(gpu::gpu_knn_device_bytes(470000, 3000000, 10, 20), at30m / 5);
  EXPECT_GT(gpu::gpu_knn_device_bytes(470000, 30000000, 10, 100), at30m);  // longer result lists
  SPECVAE_REQUIRE_GPU();
  std::size_t need = 0, free = 0;
  EXPECT_TRUE(gpu::gpu_knn_fits(0, 1000, 100000, 10, 20, &need, &free));
  EXPECT_GT(free, need);
  // 2^31 − 1 base points in 64-d: ≈ 1.1 TB, more than any GPU has.
  EXPECT_FALSE(gpu::gpu_knn_fits(0, 1000, 2147483647, 64, 20, &need, &free));
  EXPECT_GT(need, free);
}

TEST(CudaLof, MatchesCpuLofOnRandomAndClusteredPoints) {
  SPECVAE_REQUIRE_GPU();
  for (const Points& p : {uniform_points(2000, 10, 8), clustered_points(2000, 10, 9)}) {
    const auto want = cpu_nof(p, 20);
    for (auto method : kMethods) {
      SCOPED_TRACE(name(method));
      gpu::GpuKnnOptions opt;
      opt.method = method;
      opt.query_tile = 300;
      opt.base_tile = 900;
      const GpuNof got = gpu_nof(p, 20, opt);
      expect_nof_near(got.refined, want, "gpu_knn's neighbours");
      expect_nof_near(got.rescored, want, "specvae score's neighbours");
      // Not trivially −1 everywhere: the data have real outliers and dense cores.
      const auto [lo, hi] = std::minmax_element(got.refined.begin(), got.refined.end());
      EXPECT_GT(*hi - *lo, 0.05);
    }
  }
}

TEST(CudaLof, FewPointsUseNMinusOneNeighbours) {
  SPECVAE_REQUIRE_GPU();
  const Points p = uniform_points(8, 3, 10);
  const int k = neighbours::effective_k(20, p.n);
  EXPECT_EQ(k, 7);
  const GpuNof got = gpu_nof(p, k, {});
  expect_nof_near(got.refined, cpu_nof(p, k), "gpu_knn's neighbours");
  expect_nof_near(got.rescored, cpu_nof(p, k), "specvae score's neighbours");
}
#else
#include "gpu_test_util.hpp"
TEST(CudaKnn, NeedsCudaBuild) { GTEST_SKIP() << "specvae was built without CUDA"; }
#endif
