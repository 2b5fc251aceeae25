// The data-parallel trainer: a global batch split over 2 or 3 ranks (one with no rows) gives
// the 1-rank gradient to float rounding; training is deterministic for a seed and rank
// count; a resumed run repeats the uninterrupted run's losses bit for bit; a NaN stops
// training with the step named and the last good checkpoint intact.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "specvae/core/error.hpp"
#include "specvae/dist/communicator.hpp"
#include "specvae/train/trainer.hpp"
#include "test_train_data.hpp"

using namespace specvae;
using specvae::test::small_train_config;
using specvae::test::synthetic_rows;

namespace {
constexpr std::int64_t kRows = 130;

// Rows per rank for a layout: contiguous, in rank order.
std::vector<std::int64_t> layout(int ranks) {
  if (ranks == 1) return {kRows};
  if (ranks == 2) return {70, 60};
  return {55, 0, 75};  // the middle rank owns nothing
}

struct GradientResult {
  std::vector<float> grad;
  train::StepLoss loss;
};

GradientResult gradient_on(int ranks, std::int64_t epoch, std::int64_t batch) {
  const Config config = small_train_config(1);
  const auto counts = layout(ranks);
  GradientResult out;
  std::mutex mu;
  run_in_process(ranks, [&](Communicator& comm) {
    std::int64_t begin = 0;
    for (int r = 0; r < comm.rank(); ++r) begin += counts[r];
    const DatasetRows rows = synthetic_rows(begin, counts[comm.rank()], 16);
    train::Trainer trainer(config, comm, rows, nullptr);
    const train::StepLoss l = trainer.compute_gradient(epoch, batch, 17);
    std::vector<float> g = trainer.gradient();
    std::lock_guard lock(mu);
    if (comm.rank() == 0) {
      out.grad = std::move(g);
      out.loss = l;
    }
  });
  return out;
}

std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("specvae_train_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

std::vector<train::EpochMetrics> train_on(int ranks, const Config& config, const train::TrainOptions& opts,
                                          std::vector<float>* params = nullptr, std::int64_t poison_row = -1,
                                          float outlier_scale = 0) {
  const auto counts = layout(ranks);
  std::vector<train::EpochMetrics> history;
  std::mutex mu;
  run_in_process(ranks, [&](Communicator& comm) {
    std::int64_t begin = 0;
    for (int r = 0; r < comm.rank(); ++r) begin += counts[r];
    DatasetRows rows = synthetic_rows(begin, counts[comm.rank()], 16);
    if (poison_row >= begin && poison_row < begin + counts[comm.rank()])
      rows.flux[static_cast<std::size_t>(poison_row - begin) * 16 + 3] = std::nanf("");
    // Two validation rows (g % 4 == 3) made into outliers: flux multiplied, so they fit worst.
    for (const std::int64_t g : {std::int64_t{123}, std::int64_t{127}})
      if (outlier_scale > 0 && g >= begin && g < begin + counts[comm.rank()])
        for (int j = 0; j < 16; ++j) rows.flux[static_cast<std::size_t>(g - begin) * 16 + static_cast<std::size_t>(j)] *= outlier_scale;
    train::Trainer trainer(config, comm, rows, nullptr);
    auto h = trainer.run(opts);
    auto p = trainer.parameters();
    std::lock_guard lock(mu);
    if (comm.rank() == 0) {
      history = std::move(h);
      if (params) *params = std::move(p);
    }
  });
  return history;
}
}  // namespace

TEST(DataParallel, SplitBatchGradientEqualsOneRankGradient) {
  for (std::int64_t batch : {0, 2}) {  // batch 2 is the short last one: 98 training rows = 2·40 + 18
    const GradientResult one = gradient_on(1, 2, batch);
    double scale = 0;
    for (float g : one.grad) scale = std::max(scale, std::abs(static_cast<double>(g)));
    ASSERT_GT(scale, 0.0);
    for (int ranks : {2, 3}) {
      const GradientResult many = gradient_on(ranks, 2, batch);
      ASSERT_EQ(many.grad.size(), one.grad.size());
      double worst = 0;
      for (std::size_t i = 0; i < one.grad.size(); ++i)
        worst = std::max(worst, std::abs(static_cast<double>(many.grad[i]) - one.grad[i]));
      EXPECT_LT(worst / scale, 1e-5) << ranks << " ranks, batch " << batch;
      EXPECT_EQ(many.loss.rows, one.loss.rows);
    }
  }
}

TEST(DataParallel, EpochPermutationCoversEveryTrainingRowOnce) {
  // The all-reduced per-epoch loss of 1 rank and 3 ranks agree: every row is used once.
  const Config config = small_train_config(1);
  train::TrainOptions opts;
  opts.write_outputs = false;
  const auto a = train_on(1, config, opts), b = train_on(3, config, opts);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_NEAR(a[0].train_loss, b[0].train_loss, 1e-4 * std::abs(a[0].train_loss));
  EXPECT_NEAR(a[0].val_loss, b[0].val_loss, 1e-4 * std::abs(a[0].val_loss));
  EXPECT_NEAR(a[0].val_loss_monitored, b[0].val_loss_monitored, 1e-4 * std::abs(a[0].val_loss_monitored));
}

TEST(Training, MonitoredLossLeavesOutTheWorstFittedValidationSpectra) {
  // 32 validation rows; train.val_trim = 2/32 leaves out the 2 worst. With 2 rows made into
  // outliers, the monitored loss (and so the schedule, the best epoch and the weights) does not
  // depend on how far out they are, while the plain validation loss does; with val_trim = 0 the
  // monitored loss is the plain one. The same on 1 rank and on 3 (one without rows).
  for (int ranks : {1, 3}) {
    Config config = small_train_config(3);
    config.set("train.val_trim=0.0625");
    train::TrainOptions opts;
    opts.write_outputs = false;
    std::vector<float> pa, pb;
    const auto a = train_on(ranks, config, opts, &pa, -1, 30.0f), b = train_on(ranks, config, opts, &pb, -1, 60.0f);
    ASSERT_EQ(a.size(), 3u);
    for (std::size_t e = 0; e < a.size(); ++e) {
      EXPECT_EQ(a[e].val_loss_monitored, b[e].val_loss_monitored) << ranks << " ranks, epoch " << e + 1;
      EXPECT_EQ(a[e].best, b[e].best);
      EXPECT_GT(b[e].val_loss, 2.0 * a[e].val_loss) << "the outliers should set the plain validation loss";
      EXPECT_LT(a[e].val_loss_monitored, 0.2 * a[e].val_loss);
    }
    EXPECT_EQ(pa, pb);

    config.set("train.val_trim=0");
    const auto c = train_on(ranks, config, opts, nullptr, -1, 30.0f);
    for (const auto& m : c) EXPECT_EQ(m.val_loss_monitored, m.val_loss);
  }
}

TEST(Training, DeterministicForSeedAndRankCount) {
  const Config config = small_train_config(6);
  train::TrainOptions opts;
  opts.write_outputs = false;
  std::vector<float> p1, p2;
  const auto a = train_on(2, config, opts, &p1), b = train_on(2, config, opts, &p2);
  ASSERT_EQ(a.size(), 6u);
  for (std::size_t e = 0; e < a.size(); ++e) {
    EXPECT_EQ(a[e].train_loss, b[e].train_loss);
    EXPECT_EQ(a[e].val_loss, b[e].val_loss);
  }
  EXPECT_EQ(p1, p2);

  // And train.seed is what they depend on: another seed, other weights and losses.
  Config other = config;
  other.set("train.seed=2");
  std::vector<float> p3;
  const auto c = train_on(2, other, opts, &p3);
  EXPECT_NE(p1, p3);
  EXPECT_NE(a.back().train_loss, c.back().train_loss);
}

TEST(Training, ShardedAdamTakesTheSameStepsAsAdamOnEveryRank) {
  // train.shard_optimizer: reduce-scatter, Adam on each rank's chunk, all-gather. The same
  // sums in the same order and the same element-wise update: the same training, on 2 ranks
  // and on 3 (one of them without rows, and the last rank's chunk shorter).
  for (int ranks : {2, 3}) {
    Config sharded = small_train_config(4), replicated = small_train_config(4);
    sharded.set("train.shard_optimizer=true");
    replicated.set("train.shard_optimizer=false");
    run_in_process(ranks, [&](Communicator& comm) {
      const DatasetRows rows = synthetic_rows(comm.rank() * 40, 40, 16);
      EXPECT_TRUE(train::Trainer(sharded, comm, rows, nullptr).shards_optimizer());
      EXPECT_FALSE(train::Trainer(replicated, comm, rows, nullptr).shards_optimizer());
    });
    train::TrainOptions opts;
    opts.write_outputs = false;
    std::vector<float> ps, pr;
    const auto a = train_on(ranks, sharded, opts, &ps), b = train_on(ranks, replicated, opts, &pr);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t e = 0; e < a.size(); ++e) {
      EXPECT_NEAR(a[e].train_loss, b[e].train_loss, 1e-6 * std::abs(b[e].train_loss)) << ranks << " ranks";
      EXPECT_NEAR(a[e].val_loss, b[e].val_loss, 1e-6 * std::abs(b[e].val_loss)) << ranks << " ranks";
    }
    ASSERT_EQ(ps.size(), pr.size());
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < ps.size(); ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(ps[i]) - pr[i]));
      scale = std::max(scale, std::abs(static_cast<double>(pr[i])));
    }
    EXPECT_LE(worst, 1e-6 * scale) << ranks << " ranks";
  }
}

TEST(Training, ReducesTheValidationLoss) {
  // 180 steps on a toy set: a larger step size than the paper's to get somewhere in them.
  Config config = small_train_config(60);
  config.set("train.learning_rate=0.01");
  config.set("train.plateau_patience=10");
  train::TrainOptions opts;
  opts.write_outputs = false;
  const auto h = train_on(2, config, opts);
  ASSERT_EQ(h.size(), 60u);
  EXPECT_LT(h.back().val_loss, 0.5 * h.front().val_loss) << "training did not reduce the validation loss";
  EXPECT_LT(h.back().val_mse, 0.5 * h.front().val_mse);
}

TEST(Training, ResumedRunRepeatsUninterruptedLossesBitForBit) {
  const auto dir_full = temp_dir("full"), dir_split = temp_dir("split");
  train::TrainOptions full;
  full.out_dir = dir_full;
  std::vector<float> p_full, p_resumed;
  // Killed after epoch 2, then resumed with the same config (for the cosine schedule too).
  const auto uninterrupted = train_on(2, small_train_config(5), full, &p_full);
  train::TrainOptions first;
  first.out_dir = dir_split;
  first.stop_after_epoch = 2;
  train_on(2, small_train_config(5), first);
  train::TrainOptions resume = first;
  resume.resume = true;
  resume.stop_after_epoch = 0;
  const auto resumed = train_on(2, small_train_config(5), resume, &p_resumed);
  ASSERT_EQ(uninterrupted.size(), 5u);
  ASSERT_EQ(resumed.size(), 3u);
  for (std::size_t e = 0; e < 3; ++e) {
    EXPECT_EQ(resumed[e].epoch, uninterrupted[e + 2].epoch);
    EXPECT_EQ(resumed[e].train_loss, uninterrupted[e + 2].train_loss) << "epoch " << resumed[e].epoch;
    EXPECT_EQ(resumed[e].val_loss, uninterrupted[e + 2].val_loss) << "epoch " << resumed[e].epoch;
    EXPECT_EQ(resumed[e].learning_rate, uninterrupted[e + 2].learning_rate);
  }
  EXPECT_EQ(p_resumed, p_full);
  // Outputs: both checkpoints and one metrics line per epoch.
  EXPECT_TRUE(std::filesystem::exists(dir_split / "checkpoint-last.h5"));
  EXPECT_TRUE(std::filesystem::exists(dir_split / "checkpoint-best.h5"));
  std::ifstream in(dir_split / "metrics.jsonl");
  int lines = 0;
  for (std::string l; std::getline(in, l);) lines += !l.empty();
  EXPECT_EQ(lines, 5);
  EXPECT_EQ(model::load_checkpoint(dir_split / "checkpoint-last.h5").state.epoch, 5);
  std::filesystem::remove_all(dir_full);
  std::filesystem::remove_all(dir_split);
}

TEST(Training, NonFiniteLossStopsWithTheStepAndKeepsLastCheckpoint) {
  const auto dir = temp_dir("nan");
  train::TrainOptions opts;
  opts.out_dir = dir;
  train_on(3, small_train_config(1), opts);
  opts.resume = true;
  try {
    train_on(3, small_train_config(3), opts, nullptr, 40);  // row 40 is a training row
    FAIL() << "a NaN in the data did not stop training";
  } catch (const train::TrainingDiverged& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("at step"), std::string::npos) << msg;
    EXPECT_NE(msg.find("checkpoint-last.h5"), std::string::npos) << msg;
  }
  EXPECT_EQ(model::load_checkpoint(dir / "checkpoint-last.h5").state.epoch, 1);
  std::filesystem::remove_all(dir);
}

TEST(Training, NonFiniteValidationLossStopsWithTheEpochAlsoWhenTrimming) {
  // A NaN in a validation row (row 43: g % 4 == 3) with train.val_trim on: the same clean stop
  // naming the epoch and the last good checkpoint, on every rank, not a failed check.
  Config config = small_train_config(2);
  config.set("train.val_trim=0.1");
  train::TrainOptions opts;
  opts.write_outputs = false;
  try {
    train_on(3, config, opts, nullptr, 43);
    FAIL() << "a NaN in a validation row did not stop training";
  } catch (const train::TrainingDiverged& e) {
    EXPECT_NE(std::string(e.what()).find("after epoch 1"), std::string::npos) << e.what();
  }
}

TEST(Training, RefusesToStartOverARunUnlessAskedTo) {
  // One missing --resume must not throw away a training run; --overwrite starts again and
  // leaves no file of the old run (a stale checkpoint-best.h5 would be scored).
  const auto dir = temp_dir("again");
  train::TrainOptions opts;
  opts.out_dir = dir;
  train_on(1, small_train_config(2), opts);
  const auto before = std::filesystem::last_write_time(dir / "checkpoint-last.h5");
  try {
    train_on(1, small_train_config(1), opts);
    FAIL() << "a training run was started over without --overwrite";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("holds a training run already (checkpoint-last.h5, checkpoint-best.h5, metrics.jsonl)"),
              std::string::npos) << msg;
    EXPECT_NE(msg.find("--resume"), std::string::npos) << msg;
  }
  EXPECT_EQ(std::filesystem::last_write_time(dir / "checkpoint-last.h5"), before);
  EXPECT_EQ(model::load_checkpoint(dir / "checkpoint-last.h5").state.epoch, 2);
  opts.overwrite = true;
  train_on(1, small_train_config(1), opts);
  EXPECT_EQ(model::load_checkpoint(dir / "checkpoint-last.h5").state.epoch, 1);
  std::ifstream in(dir / "metrics.jsonl");
  int lines = 0;
  for (std::string l; std::getline(in, l);) lines += !l.empty();
  EXPECT_EQ(lines, 1);
  // --resume where there is nothing to resume: an error, and no folder made for it.
  train::TrainOptions nowhere;
  nowhere.out_dir = dir / "nowhere";
  nowhere.resume = true;
  EXPECT_THROW(train_on(1, small_train_config(1), nowhere), InputError);
  EXPECT_FALSE(std::filesystem::exists(nowhere.out_dir));
  std::filesystem::remove_all(dir);
}

TEST(Training, ResumeRefusesAnotherArchitecture) {
  const auto dir = temp_dir("arch");
  train::TrainOptions opts;
  opts.out_dir = dir;
  train_on(1, small_train_config(1), opts);
  Config other = small_train_config(2);
  other.set("model.latent_dim=4");
  opts.resume = true;
  EXPECT_THROW(train_on(1, other, opts), InputError);
  std::filesystem::remove_all(dir);
}

TEST(Training, RanksOnDifferentBackendsAreRefusedOnEveryRank) {
  // One rank of three on another backend: the collectives and the Adam arithmetic would differ
  // (a sharded-Adam CPU rank next to an all-reducing GPU rank hangs), so every rank refuses
  // with the same error instead. (train.backend = auto with some ranks on a GPU falls back to
  // the CPU on every rank; that needs a GPU to test.)
  const Config config = small_train_config(1);
  const auto counts = layout(3);
  std::atomic<int> refused{0};
  try {
    run_in_process(3, [&](Communicator& comm) {
      std::int64_t begin = 0;
      for (int r = 0; r < comm.rank(); ++r) begin += counts[r];
      const DatasetRows rows = synthetic_rows(begin, counts[comm.rank()], 16);
      try {
        train::Trainer trainer(config, comm, rows, model::make_backend(comm.rank() == 1 ? "reference" : "cpu", 1));
      } catch (const ConfigError& e) {
        ++refused;
        EXPECT_NE(std::string(e.what()).find("1 reference"), std::string::npos) << e.what();
        throw;
      }
    });
    FAIL() << "ranks on different backends trained together";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("different backends"), std::string::npos) << e.what();
  }
  EXPECT_EQ(refused.load(), 3);
}

// The learning rate never goes below train.min_lr once warmed up: the cosine schedule step by
// step, and the plateau schedule over a run whose loss stops improving at once (learning rate
// 0 keeps the weights, so every epoch after the first is a plateau).
TEST(Schedule, NeverBelowTheFloor) {
  Config config = small_train_config(40);
  config.set("train.learning_rate=1e-3");
  config.set("train.min_lr=2e-4");
  config.set("train.warmup_steps=5");
  run_in_process(1, [&](Communicator& comm) {
    train::Trainer trainer(config, comm, synthetic_rows(0, kRows, 16), nullptr);
    const std::int64_t total = trainer.batches_per_epoch() * trainer.planned_epochs();
    EXPECT_NEAR(trainer.cosine_rate(total - 1, total), 2e-4, 1e-12);
    EXPECT_NEAR(trainer.cosine_rate(5, total), 1e-3, 1e-9);
    double last = 1;
    for (std::int64_t s = 5; s < total; ++s) {
      const double lr = trainer.cosine_rate(s, total);
      EXPECT_GE(lr, 2e-4) << "step " << s;
      EXPECT_LE(lr, last + 1e-15) << "step " << s;  // falls monotonically after the warm-up
      last = lr;
    }
    for (std::int64_t s = 0; s < 5; ++s) EXPECT_LT(trainer.cosine_rate(s, total), trainer.cosine_rate(s + 1, total));
  });
  config.set("train.schedule=plateau");
  run_in_process(1, [&](Communicator& comm) {
    train::Trainer trainer(config, comm, synthetic_rows(0, kRows, 16), nullptr);
    double lr = 1e-3;
    for (int cut = 0; cut < 10; ++cut) {
      lr = trainer.plateau_rate(lr);
      EXPECT_GE(lr, 2e-4) << "cut " << cut;
    }
    EXPECT_DOUBLE_EQ(lr, 2e-4);  // it reaches the floor and stays there
  });
  // A whole plateau run on the same rule: every epoch at or above the floor.
  config.set("train.plateau_patience=1");
  config.set("train.learning_rate=3e-4");
  train::TrainOptions opts;
  opts.write_outputs = false;
  for (const auto& m : train_on(1, config, opts)) EXPECT_GE(m.learning_rate, 2e-4) << "epoch " << m.epoch;
}

// train.min_steps raises train.epochs on a small survey, and 0 leaves it as it is.
TEST(Schedule, MinStepsRaisesTheEpochs) {
  Config config = small_train_config(2);
  run_in_process(1, [&](Communicator& comm) {
    train::Trainer t0(config, comm, synthetic_rows(0, kRows, 16), nullptr);
    EXPECT_EQ(t0.planned_epochs(), 2);
    Config more = config;
    more.set("train.min_steps=25");
    train::Trainer t1(more, comm, synthetic_rows(0, kRows, 16), nullptr);
    const std::int64_t nb = t1.batches_per_epoch();  // 98 training rows, batch 40: 3
    EXPECT_EQ(t1.planned_epochs(), (25 + nb - 1) / nb);
  });
}

TEST(Schedule, ConvergenceVerdict) {
  std::vector<train::EpochPoint> falling, flat, stalled;
  for (int e = 0; e < 20; ++e) {
    falling.push_back({100.0 - 2.0 * e, 3.0, 1e-3});
    flat.push_back({e < 10 ? 100.0 - 5.0 * e : 50.0 + 0.01 * (e % 3), 1.2, 1e-3 * (20 - e) / 20});
    // The plateau schedule on a small survey: the rate cut to nothing by epoch 6, the loss flat after.
    stalled.push_back({e < 6 ? 100.0 - 5.0 * e : 75.0, 11.0, e < 6 ? 1e-3 : 1e-10});
  }
  const train::Convergence a = train::judge_convergence(falling), b = train::judge_convergence(flat),
                           c = train::judge_convergence(stalled);
  EXPECT_FALSE(a.converged);
  EXPECT_THAT(a.reason, ::testing::HasSubstr("train longer"));
  EXPECT_TRUE(b.converged) << b.reason;
  EXPECT_FALSE(c.converged);
  EXPECT_THAT(c.reason, ::testing::HasSubstr("stopped learning"));
  EXPECT_FALSE(train::judge_convergence({{1.0, 1.0, 1e-3}, {0.9, 1.0, 1e-3}}).converged);
}

// The plateau schedule does not depend on train.epochs: a 2-epoch run extended to 5 repeats
// the 5-epoch run's last 3 epochs bit for bit (`specvae run` resumes such an extension).
TEST(Training, PlateauRunExtendedToMoreEpochsRepeatsTheLongerRun) {
  const auto dir_full = temp_dir("plateau_full"), dir_split = temp_dir("plateau_split");
  const auto cfg = [](int epochs) {
    Config c = small_train_config(epochs);
    c.set("train.schedule=plateau");
    return c;
  };
  train::TrainOptions full;
  full.out_dir = dir_full;
  std::vector<float> p_full, p_resumed;
  const auto uninterrupted = train_on(2, cfg(5), full, &p_full);
  train::TrainOptions first;
  first.out_dir = dir_split;
  train_on(2, cfg(2), first);
  train::TrainOptions resume = first;
  resume.resume = true;
  const auto resumed = train_on(2, cfg(5), resume, &p_resumed);
  ASSERT_EQ(resumed.size(), 3u);
  for (std::size_t e = 0; e < 3; ++e) {
    EXPECT_EQ(resumed[e].train_loss, uninterrupted[e + 2].train_loss) << "epoch " << resumed[e].epoch;
    EXPECT_EQ(resumed[e].learning_rate, uninterrupted[e + 2].learning_rate);
  }
  EXPECT_EQ(p_resumed, p_full);
  std::filesystem::remove_all(dir_full);
  std::filesystem::remove_all(dir_split);
}

// The cosine schedule depends on the step alone: a run killed after epoch 2 and resumed with
// the same config ends on the uninterrupted run's weights, learning rates equal epoch by epoch.
TEST(Training, CosineRunKilledAndResumedRepeatsTheUninterruptedRun) {
  const auto dir_full = temp_dir("cos_full"), dir_split = temp_dir("cos_split");
  Config cfg = small_train_config(5);
  cfg.set("train.schedule=cosine");
  cfg.set("train.warmup_steps=4");
  train::TrainOptions full;
  full.out_dir = dir_full;
  std::vector<float> p_full, p_resumed;
  const auto uninterrupted = train_on(2, cfg, full, &p_full);
  train::TrainOptions first;
  first.out_dir = dir_split;
  first.stop_after_epoch = 2;
  train_on(2, cfg, first);
  train::TrainOptions resume = first;
  resume.resume = true;
  resume.stop_after_epoch = 0;
  const auto resumed = train_on(2, cfg, resume, &p_resumed);
  ASSERT_EQ(resumed.size(), 3u);
  for (std::size_t e = 0; e < 3; ++e) {
    EXPECT_EQ(resumed[e].train_loss, uninterrupted[e + 2].train_loss) << "epoch " << resumed[e].epoch;
    EXPECT_EQ(resumed[e].learning_rate, uninterrupted[e + 2].learning_rate);
  }
  EXPECT_LT(uninterrupted.back().learning_rate, uninterrupted[1].learning_rate);  // it does decay
  EXPECT_EQ(p_resumed, p_full);
  std::filesystem::remove_all(dir_full);
  std::filesystem::remove_all(dir_split);
}
