// Parallel HDF5 dataset: collective writes (HDF5 says so), a rank with no rows, and the same
// file content for 1 rank and P ranks.
#include <filesystem>

#include <gtest/gtest.h>

#include "../common/dataset_fixture.hpp"
#include "specvae/dist/distributed.hpp"
#include "specvae/dist/shard_plan.hpp"
#include "specvae/io/dataset.hpp"

using namespace specvae;
namespace fs = std::filesystem;

namespace {
fs::path shared_dir(Communicator& comm) {
  std::int64_t tag = ::getpid();
  comm.broadcast(std::span<std::int64_t>(&tag, 1), 0);
  fs::path dir = fs::temp_directory_path() / ("specvae-mpi-io-" + std::to_string(tag));
  if (comm.rank() == 0) fs::create_directories(dir);
  comm.barrier();
  return dir;
}
}  // namespace

TEST(MpiDataset, CollectiveWriteWithEmptyRankMatchesSerial) {
  auto& ctx = init_distributed(nullptr, nullptr);
  Communicator& comm = *ctx.world;
  const int P = comm.size(), r = comm.rank();
  const int bins = 64;
  const std::int64_t N = 3 * (P - 1) + 1;
  // Uneven split with the last rank empty: rank r < P-1 owns a contiguous block.
  ShardPlan plan(N, P - 1);
  std::int64_t begin = r < P - 1 ? plan.begin(r) : N, count = r < P - 1 ? plan.count(r) : 0;
  auto local = fixtures::test_rows(begin, count, bins);
  auto prov = fixtures::test_provenance(bins);
  fs::path dir = shared_dir(comm);
  fs::path par = dir / "parallel.h5", ser = dir / "serial.h5";

  DatasetWriteReport report;
  EXPECT_EQ(write_dataset(MPI_COMM_WORLD, par, local, prov, true, &report), N);
  EXPECT_TRUE(report.mpio);
  EXPECT_TRUE(report.collective) << "local cause " << report.no_collective_cause_local << ", global cause "
                                 << report.no_collective_cause_global;
  EXPECT_EQ(report.no_collective_cause_global, 0u);

  if (r == 0) write_dataset(MPI_COMM_SELF, ser, fixtures::test_rows(0, N, bins), prov, true);
  comm.barrier();

  // Every rank reads rows (a different split: the first rank reads nothing).
  ShardPlan reread(N, P);
  int rr = (r + 1) % P;
  DatasetRows got = read_dataset_rows(MPI_COMM_WORLD, par, reread.begin(rr), reread.count(rr));
  auto want = fixtures::test_rows(reread.begin(rr), reread.count(rr), bins);
  EXPECT_EQ(got.flux, want.flux);
  EXPECT_EQ(got.targetid, want.targetid);
  EXPECT_EQ(got.spectype, want.spectype);

  auto pinfo = read_dataset_info(MPI_COMM_WORLD, par);
  auto sinfo = read_dataset_info(MPI_COMM_WORLD, ser);
  EXPECT_EQ(pinfo.dataset_hash, sinfo.dataset_hash);
  EXPECT_EQ(pinfo.rows, N);
  comm.barrier();
  if (r == 0) fs::remove_all(dir);
}

TEST(MpiDataset, StreamedRoundsWithUnevenChunkCounts) {
  auto& ctx = init_distributed(nullptr, nullptr);
  Communicator& comm = *ctx.world;
  const int r = comm.rank();
  const int bins = 32;
  // Rank r owns 3r rows (rank 0 none), written in chunks of at most 2 rows: ranks need
  // different numbers of chunks, so the others pad with empty rounds.
  const std::int64_t mine = 3 * r, offset = comm.exclusive_scan_sum(mine), total = comm.allreduce_sum(mine);
  const std::int64_t my_chunks = (mine + 1) / 2;
  const std::int64_t rounds = std::int64_t(comm.allreduce_max(double(my_chunks)));
  auto prov = fixtures::test_provenance(bins);
  fs::path dir = shared_dir(comm);
  fs::path streamed = dir / "streamed.h5", ser = dir / "serial.h5";
  {
    DatasetWriter w(MPI_COMM_WORLD, streamed, false);
    w.open(offset, total, prov.wave);
    for (std::int64_t k = 0; k < rounds; ++k) {
      const std::int64_t b = std::min(mine, 2 * k), n = std::min<std::int64_t>(2, mine - b);
      w.write(n > 0 ? fixtures::test_rows(offset + b, n, bins) : DatasetRows{});
    }
    DatasetWriteReport report;
    EXPECT_EQ(w.commit(prov, &report), total);
    EXPECT_TRUE(report.collective);
  }
  if (r == 0) write_dataset(MPI_COMM_SELF, ser, fixtures::test_rows(0, total, bins), prov, true);
  comm.barrier();
  EXPECT_EQ(read_dataset_info(MPI_COMM_WORLD, streamed).dataset_hash, read_dataset_info(MPI_COMM_WORLD, ser).dataset_hash);
  comm.barrier();
  if (r == 0) fs::remove_all(dir);
}
