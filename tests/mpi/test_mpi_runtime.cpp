// init_distributed() and every MPI collective, on 2 and 3 ranks, with a rank owning no rows.
#include <gtest/gtest.h>

#include "specvae/dist/distributed.hpp"
#include "specvae/dist/shard_plan.hpp"
#include "../unit/test_chunk_collectives.hpp"
#include "../unit/test_trimmed_mean.hpp"

using namespace specvae;

namespace {
DistributedContext& ctx() { return init_distributed(nullptr, nullptr); }
}  // namespace

TEST(MpiRuntime, ContextDescribesTheJob) {
  auto& c = ctx();
  int rank = -1, size = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_EQ(c.world_rank, rank);
  EXPECT_EQ(c.world_size, size);
  EXPECT_GE(c.world_size, 2);
  EXPECT_GE(c.local_rank, 0);
  EXPECT_LT(c.local_rank, c.local_size);
  EXPECT_LE(c.local_size, c.world_size);
  // No GPU on CI machines: -1; with GPUs, a device index.
  EXPECT_GE(c.gpu_device, -1);
  // The same context comes back.
  EXPECT_EQ(&init_distributed(nullptr, nullptr), &c);
}

TEST(MpiRuntime, CollectivesWithAnEmptyRank) {
  Communicator& comm = *ctx().world;
  const int P = comm.size(), r = comm.rank();
  ShardPlan plan(P - 1, P);  // the last rank owns no rows
  std::vector<float> rows;
  for (auto i = plan.begin(r); i < plan.end(r); ++i) rows.push_back(float(i + 1));

  std::vector<float> sum(4, float(rows.size()));
  comm.allreduce_sum(std::span<float>(sum));
  EXPECT_EQ(sum[3], float(P - 1));

  std::vector<double> dsum = {double(r)};
  comm.allreduce_sum(std::span<double>(dsum));
  EXPECT_DOUBLE_EQ(dsum[0], P * (P - 1) / 2.0);
  EXPECT_EQ(comm.allreduce_sum(std::int64_t(rows.size())), P - 1);
  EXPECT_DOUBLE_EQ(comm.allreduce_max(double(r)), P - 1);
  EXPECT_DOUBLE_EQ(comm.allreduce_min(double(r)), 0);

  auto gathered = comm.allgatherv<float>(rows);
  ASSERT_EQ(gathered.size(), std::size_t(P - 1));
  for (std::size_t i = 0; i < gathered.size(); ++i) EXPECT_EQ(gathered[i], float(i + 1));

  auto each = comm.allgather<std::int64_t>(std::int64_t(rows.size()));
  EXPECT_EQ(each.back(), 0);

  EXPECT_EQ(comm.exclusive_scan_sum(std::int64_t(rows.size())), plan.begin(r));

  std::vector<std::int64_t> b(3, r == P - 1 ? 99 : 0);
  comm.broadcast(std::span<std::int64_t>(b), P - 1);
  EXPECT_EQ(b, (std::vector<std::int64_t>{99, 99, 99}));

  test::check_chunk_collectives(comm);
  test::check_alltoallv(comm);
  test::check_trimmed_mean(comm);
  comm.barrier();
}
