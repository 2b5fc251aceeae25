// dist/memory_check.hpp: the estimates count what the stages hold, and a job that cannot fit is
// refused on every rank with what it needs, before it loads anything.
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "specvae/core/config.hpp"
#include "specvae/core/error.hpp"
#include "specvae/dist/communicator.hpp"
#include "specvae/dist/memory_check.hpp"

using namespace specvae;

TEST(MemoryCheck, EstimatesGrowWithTheRowsHeld) {
  const MemoryEstimate t = train_memory_estimate(1000, 2'800'000, 512);
  // Rows as read (9 bytes a bin) and the trainer's copy (8): ≈ 17 KB a spectrum of 1000 bins.
  EXPECT_NEAR(t.per_row_bytes, 17.1e3, 0.2e3);
  EXPECT_EQ(t.bytes(2000, 4000) - t.bytes(1000, 4000), 1000 * t.per_row_bytes);
  const MemoryEstimate s = score_memory_estimate(1000, 2'800'000, 10, 512, 20000);
  EXPECT_LT(s.per_row_bytes, t.per_row_bytes);
  EXPECT_GT(s.total_row_bytes, 0);  // LOF gathers every latent mean
  EXPECT_GT(available_memory_bytes(), 1e8);
}

TEST(MemoryCheck, AJobThatCannotFitIsRefusedOnEveryRank) {
  Config on = Config::defaults();
  Config off = Config::defaults();
  off.set("runtime.memory_check=false");
  MemoryEstimate huge;
  huge.base_bytes = 1e8;
  huge.per_row_bytes = 1e6;  // 1 MB a row: 1e9 rows will not fit on any node
  std::atomic<int> refused{0};
  run_in_process(3, [&](Communicator& comm) {
    const std::int64_t local = comm.rank() == 2 ? 0 : 500'000'000;  // a rank with no rows
    try {
      check_memory(on, comm, 4, "train", huge, local, 1'000'000'000);
    } catch (const InputError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("train: 1000000000 rows need"), std::string::npos) << m;
      EXPECT_NE(m.find("nodes"), std::string::npos) << m;
      ++refused;
    }
    EXPECT_NO_THROW(check_memory(off, comm, 4, "train", huge, local, 1'000'000'000));
    MemoryEstimate small;
    small.base_bytes = 1e6;
    small.per_row_bytes = 10;
    EXPECT_NO_THROW(check_memory(on, comm, 4, "score", small, local, 1000));
  });
  EXPECT_EQ(refused.load(), 3);
}
