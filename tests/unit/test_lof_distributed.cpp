// Distributed LOF (in-process ranks) equals the one-process LOF, for 2 and 3 ranks, with a
// rank that owns no rows, and the order of rows over ranks does not matter.
#include <gtest/gtest.h>

#include <mutex>
#include <random>

#include "specvae/dist/shard_plan.hpp"
#include "specvae/score/lof.hpp"

using namespace specvae;
using namespace specvae::score;

namespace {

std::vector<float> mixture(std::int64_t n, int d, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> x(n * d);
  for (std::int64_t i = 0; i < n; ++i) {
    const float centre = static_cast<float>(i % 3) * 4.0f;
    for (int j = 0; j < d; ++j) x[i * d + j] = centre + g(gen) * (1.0f + static_cast<float>(i % 3));
  }
  // A few exact duplicates (more than k of them) to exercise the 1e-10 path across ranks.
  for (std::int64_t i = 50; i < 80; ++i)
    for (int j = 0; j < d; ++j) x[i * d + j] = x[49 * d + j];
  return x;
}

}  // namespace

TEST(LofDistributed, EqualsOneProcessFor2And3RanksWithAnEmptyRank) {
  const std::int64_t n = 700;
  const int d = 10, k = 20;
  const std::vector<float> x = mixture(n, d, 3);
  const LofResult ref = lof(x, n, d, k, KnnMethod::KdTree, 1);
  for (int P : {2, 3}) {
    std::vector<double> nof(n, 0.0);
    std::mutex mu;
    run_in_process(P, [&](Communicator& comm) {
      // Rank P−1 owns no rows; the others split the rows unevenly.
      ShardPlan plan(n, P - 1);
      const int r = comm.rank();
      std::int64_t begin = r < P - 1 ? plan.begin(r) : n, count = r < P - 1 ? plan.count(r) : 0;
      std::span<const float> mine(x.data() + begin * d, static_cast<std::size_t>(count) * d);
      const LofResult res = distributed_lof(comm, mine, d, k, KnnMethod::KdTree, 1);
      EXPECT_EQ(res.row_begin, begin);
      EXPECT_EQ(res.n_total, n);
      std::lock_guard<std::mutex> lock(mu);
      for (std::int64_t i = 0; i < count; ++i) nof[begin + i] = res.nof[i];
    });
    for (std::int64_t i = 0; i < n; ++i) EXPECT_DOUBLE_EQ(nof[i], ref.nof[i]) << "P=" << P << " row " << i;
  }
}

TEST(LofDistributed, FaissAndKdTreeAgree) {
  const std::int64_t n = 400;
  const int d = 10;
  std::vector<float> x = mixture(n, d, 5);
  for (std::int64_t i = 50; i < 80; ++i) x[i * d] += 0.001f * static_cast<float>(i);  // break duplicates
  const LofResult a = lof(x, n, d, 20, KnnMethod::KdTree);
  const LofResult b = lof(x, n, d, 20, KnnMethod::Faiss);
  for (std::int64_t i = 0; i < n; ++i) EXPECT_NEAR(a.nof[i], b.nof[i], 1e-9);
}
