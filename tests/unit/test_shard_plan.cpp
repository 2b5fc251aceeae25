// ShardPlan: contiguous, balanced, complete, with zero-row ranks.
#include <gtest/gtest.h>

#include "specvae/dist/shard_plan.hpp"

using specvae::ShardPlan;

TEST(ShardPlan, CoversEveryRowOnceAndIsBalanced) {
  for (std::int64_t n : {0, 1, 2, 5, 7, 100, 1001}) {
    for (int p : {1, 2, 3, 4, 8, 13}) {
      ShardPlan plan(n, p);
      std::int64_t next = 0, lo = n, hi = 0;
      for (int r = 0; r < p; ++r) {
        EXPECT_EQ(plan.begin(r), next) << n << " rows over " << p;
        next = plan.end(r);
        lo = std::min(lo, plan.count(r));
        hi = std::max(hi, plan.count(r));
        for (std::int64_t row = plan.begin(r); row < plan.end(r); ++row) ASSERT_EQ(plan.owner(row), r);
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(hi - lo, 1);
    }
  }
}

TEST(ShardPlan, FewerRowsThanRanksLeavesEmptyRanks) {
  ShardPlan plan(2, 3);
  EXPECT_EQ(plan.count(0), 1);
  EXPECT_EQ(plan.count(1), 1);
  EXPECT_EQ(plan.count(2), 0);
  EXPECT_EQ(plan.begin(2), 2);
}

TEST(ShardPlan, LargeCounts) {
  ShardPlan plan(30'000'000'000LL, 64);
  EXPECT_EQ(plan.end(63), 30'000'000'000LL);
  EXPECT_EQ(plan.owner(29'999'999'999LL), 63);
}
