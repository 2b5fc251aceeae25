// The trainer under real MPI (2 and 3 ranks): with rank 1 owning no rows, the all-reduced
// gradient of a global batch equals the 1-rank gradient to float rounding, and the train
// stage reads a collectively written dataset and trains end to end.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "../unit/test_train_data.hpp"
#include "specvae/dist/distributed.hpp"
#include "specvae/train/trainer.hpp"

using namespace specvae;

namespace {
constexpr std::int64_t kRows = 150;

// Rank 1 owns nothing; the rest split the rows contiguously.
std::pair<std::int64_t, std::int64_t> my_rows(int rank, int size) {
  const int owners = size - 1;
  std::int64_t begin = 0;
  for (int r = 0; r < size; ++r) {
    const int k = r == 0 ? 0 : r - 1;  // index among owners
    const std::int64_t count = r == 1 ? 0 : kRows / owners + (k < kRows % owners ? 1 : 0);
    if (r == rank) return {begin, count};
    begin += count;
  }
  return {0, 0};
}

std::vector<float> one_rank_gradient(const Config& config) {
  std::vector<float> g;
  run_in_process(1, [&](Communicator& comm) {
    train::Trainer t(config, comm, test::synthetic_rows(0, kRows, 16), nullptr);
    t.compute_gradient(1, 2, 9);
    g = t.gradient();
  });
  return g;
}
}  // namespace

TEST(MpiTrain, SplitBatchGradientEqualsOneRankGradient) {
  Communicator& world = *init_distributed(nullptr, nullptr).world;
  const Config config = test::small_train_config(1);
  const auto [begin, count] = my_rows(world.rank(), world.size());
  train::Trainer t(config, world, test::synthetic_rows(begin, count, 16), nullptr);
  t.compute_gradient(1, 2, 9);
  const std::vector<float> g = t.gradient(), ref = one_rank_gradient(config);
  ASSERT_EQ(g.size(), ref.size());
  double scale = 0, worst = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    scale = std::max(scale, std::abs(static_cast<double>(ref[i])));
    worst = std::max(worst, std::abs(static_cast<double>(g[i]) - ref[i]));
  }
  ASSERT_GT(scale, 0.0);
  EXPECT_LT(worst / scale, 1e-5) << "rank " << world.rank();
}

TEST(MpiTrain, TrainsFromACollectivelyWrittenDataset) {
  auto& ctx = init_distributed(nullptr, nullptr);
  MpiCommunicator& world = *ctx.world;
  std::int64_t pid = ::getpid();
  world.broadcast(std::span<std::int64_t>(&pid, 1), 0);
  const auto dir = std::filesystem::temp_directory_path() / ("specvae_mpi_train_" + std::to_string(pid));
  if (world.rank() == 0) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  world.barrier();
  const auto [begin, count] = my_rows(world.rank(), world.size());
  DatasetProvenance prov;
  prov.wave.resize(16);
  for (int j = 0; j < 16; ++j) prov.wave[j] = 4000.0 + j;
  prov.wave_min = 3999.5;
  prov.wave_max = 4015.5;
  write_dataset(world.handle(), dir / "data.h5", test::synthetic_rows(begin, count, 16), prov, true);

  const Config config = test::small_train_config(2);
  train::TrainOptions opts;
  opts.data = dir / "data.h5";
  opts.out_dir = dir / "train";
  const auto history = train::run_train(StageContext::world(config), opts).epochs;
  ASSERT_EQ(history.size(), 2u);

  // The same training on one in-process rank (its own output folder per MPI rank).
  std::vector<train::EpochMetrics> ref;
  const auto ref_dir = dir / ("ref" + std::to_string(world.rank()));
  run_in_process(1, [&](Communicator& comm) {
    train::Trainer t(config, comm, test::synthetic_rows(0, kRows, 16), nullptr);
    train::TrainOptions o;
    o.out_dir = ref_dir;
    ref = t.run(o);
  });
  for (std::size_t e = 0; e < 2; ++e) {
    EXPECT_NEAR(history[e].train_loss, ref[e].train_loss, 1e-4 * std::abs(ref[e].train_loss));
    EXPECT_NEAR(history[e].val_loss, ref[e].val_loss, 1e-4 * std::abs(ref[e].val_loss));
  }
  world.barrier();
  if (world.rank() == 0) {
    EXPECT_TRUE(std::filesystem::exists(dir / "train" / "checkpoint-last.h5"));
    EXPECT_TRUE(std::filesystem::exists(dir / "train" / "metrics.jsonl"));
    // With the Adam step sharded over the ranks, each rank's moments are current on its chunk
    // only: the checkpoint must hold all of them, gathered (as the one-rank run's).
    const model::Checkpoint many = model::load_checkpoint(dir / "train" / "checkpoint-last.h5");
    const model::Checkpoint one = model::load_checkpoint(ref_dir / "checkpoint-last.h5");
    auto worst_relative = [](const std::vector<float>& a, const std::vector<float>& b) {
      EXPECT_EQ(a.size(), b.size());
      double worst = 0, scale = 0;
      for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
        worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
        scale = std::max(scale, std::abs(static_cast<double>(b[i])));
      }
      return scale > 0 ? worst / scale : worst;
    };
    EXPECT_LT(worst_relative(many.params, one.params), 1e-4);
    EXPECT_LT(worst_relative(many.adam_m, one.adam_m), 1e-3);
    EXPECT_LT(worst_relative(many.adam_v, one.adam_v), 1e-3);
    EXPECT_EQ(many.state.step, one.state.step);
    std::filesystem::remove_all(dir);
  }
  world.barrier();
}
