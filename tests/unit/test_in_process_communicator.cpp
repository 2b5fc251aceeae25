// The in-process communicator: every collective, with a rank that contributes nothing.
#include <numeric>

#include <gtest/gtest.h>

#include "specvae/core/error.hpp"
#include "specvae/dist/communicator.hpp"
#include "specvae/dist/shard_plan.hpp"
#include "test_chunk_collectives.hpp"
#include "test_trimmed_mean.hpp"

using namespace specvae;

class InProcess : public ::testing::TestWithParam<int> {};

TEST_P(InProcess, AllCollectives) {
  const int P = GetParam();
  run_in_process(P, [P](Communicator& comm) {
    const int r = comm.rank();
    ASSERT_EQ(comm.size(), P);
    // all-reduce of integer-valued floats and doubles: exact.
    std::vector<float> f = {float(r), 1.0f, float(2 * r)};
    comm.allreduce_sum(std::span<float>(f));
    const float tri = float(P * (P - 1) / 2);
    EXPECT_EQ(f, (std::vector<float>{tri, float(P), 2 * tri}));
    std::vector<double> d = {double(r) + 0.5};
    comm.allreduce_sum(std::span<double>(d));
    EXPECT_DOUBLE_EQ(d[0], tri + 0.5 * P);
    EXPECT_EQ(comm.allreduce_sum(std::int64_t{r}), std::int64_t(tri));
    EXPECT_DOUBLE_EQ(comm.allreduce_max(double(r)), P - 1);
    EXPECT_DOUBLE_EQ(comm.allreduce_min(double(r)), 0.0);

    // all-gather and all-gatherv with the last rank owning no rows.
    auto ranks = comm.allgather<int>(r);
    for (int i = 0; i < P; ++i) EXPECT_EQ(ranks[std::size_t(i)], i);
    ShardPlan plan(std::max(0, P - 1), P);  // P-1 rows over P ranks: the last rank is empty
    std::vector<std::int64_t> mine;
    for (auto row = plan.begin(r); row < plan.end(r); ++row) mine.push_back(row * 10);
    auto all = comm.allgatherv<std::int64_t>(mine);
    ASSERT_EQ(all.size(), std::size_t(P - 1));
    for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], std::int64_t(i) * 10);

    // exclusive scan gives row offsets; an empty rank's offset equals the total before it.
    std::int64_t offset = comm.exclusive_scan_sum(std::int64_t(mine.size()));
    EXPECT_EQ(offset, plan.begin(r));

    std::vector<double> b = {r == P - 1 ? 42.0 : -1.0, r == P - 1 ? 7.0 : -1.0};
    comm.broadcast(std::span<double>(b), P - 1);
    EXPECT_EQ(b, (std::vector<double>{42.0, 7.0}));
    test::check_chunk_collectives(comm);
    test::check_alltoallv(comm);
    test::check_trimmed_mean(comm);
    comm.barrier();
  });
}

INSTANTIATE_TEST_SUITE_P(Ranks, InProcess, ::testing::Values(1, 2, 3, 5));

TEST(InProcessRun, ExceptionsReachTheCaller) {
  EXPECT_THROW(run_in_process(2, [](Communicator&) { throw InputError("boom"); }), InputError);
}
