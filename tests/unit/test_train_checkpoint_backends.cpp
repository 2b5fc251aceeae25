// Checkpoints move between backends: two epochs on one backend, then a third resumed on the
// other, agree with the third resumed on the same backend (to float rounding over one epoch),
// GPU → CPU and CPU → GPU. Label gpu: skipped visibly where there is no GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "specvae/dist/communicator.hpp"
#include "specvae/gpu/resources.hpp"
#include "specvae/model/backend.hpp"
#include "specvae/train/trainer.hpp"
#include "test_train_data.hpp"

using namespace specvae;
namespace fs = std::filesystem;

namespace {

struct TrainRun {
  std::vector<train::EpochMetrics> history;
  std::vector<float> params;
};

TrainRun train_to(const std::string& backend, int epochs, const fs::path& dir, bool resume,
                  bool device_shard = true) {
  Config config = test::small_train_config(epochs);
  config.set_value("train.device_shard", device_shard);
  TrainRun out;
  run_in_process(1, [&](Communicator& comm) {
    const DatasetRows rows = test::synthetic_rows(0, 130, 16);
    train::Trainer trainer(config, comm, rows, model::make_backend(backend, 1));
    train::TrainOptions opts;
    opts.out_dir = dir;
    opts.resume = resume;
    out.history = trainer.run(opts);
    out.params = trainer.parameters();
  });
  return out;
}

}  // namespace

TEST(CheckpointAcrossBackends, GpuToCpuAndBack) {
  if (gpu_device_count() == 0) GTEST_SKIP() << "no GPU: " << gpu_unavailable_reason();
  const fs::path root = fs::temp_directory_path() / ("specvae_test_xbackend_" + std::to_string(::getpid()));
  fs::remove_all(root);
  for (const auto& [first, second] : {std::pair<std::string, std::string>{"cuda", "cpu"}, {"cpu", "cuda"}}) {
    const fs::path base = root / first, same = root / (first + "_same"), other = root / (first + "_other");
    train_to(first, 2, base, false);
    fs::copy(base, same, fs::copy_options::recursive);
    fs::copy(base, other, fs::copy_options::recursive);
    const TrainRun a = train_to(first, 3, same, true);
    const TrainRun b = train_to(second, 3, other, true);
    ASSERT_FALSE(a.history.empty());
    ASSERT_FALSE(b.history.empty());
    EXPECT_EQ(a.history.back().epoch, 3);
    EXPECT_EQ(b.history.back().epoch, 3);
    const double la = a.history.back().val_loss, lb = b.history.back().val_loss;
    EXPECT_NEAR(lb, la, 1e-3 * std::abs(la)) << first << " checkpoint resumed on " << second;
    ASSERT_EQ(a.params.size(), b.params.size());
    double scale = 0, worst = 0;
    for (std::size_t i = 0; i < a.params.size(); ++i) {
      scale = std::max(scale, std::abs(static_cast<double>(a.params[i])));
      worst = std::max(worst, std::abs(static_cast<double>(a.params[i]) - b.params[i]));
    }
    EXPECT_LT(worst, 1e-3 * scale) << first << " checkpoint resumed on " << second;
  }
  fs::remove_all(root);
}

// The training rows kept on the GPU (train.device_shard) give the same training, bit for bit,
// as batches staged through host memory: the same rows, scaled by the same arithmetic.
TEST(CheckpointAcrossBackends, RowsOnTheGpuTrainAsStagedBatches) {
  if (gpu_device_count() == 0) GTEST_SKIP() << "no GPU: " << gpu_unavailable_reason();
  const fs::path root = fs::temp_directory_path() / ("specvae_test_devshard_" + std::to_string(::getpid()));
  fs::remove_all(root);
  const TrainRun on = train_to("cuda", 2, root / "on", false, true);
  const TrainRun off = train_to("cuda", 2, root / "off", false, false);
  ASSERT_EQ(on.history.size(), off.history.size());
  for (std::size_t e = 0; e < on.history.size(); ++e) {
    EXPECT_EQ(on.history[e].train_loss, off.history[e].train_loss) << "epoch " << e + 1;
    EXPECT_EQ(on.history[e].val_loss, off.history[e].val_loss) << "epoch " << e + 1;
  }
  EXPECT_EQ(on.params, off.params);
  fs::remove_all(root);
}
