// `specvae train` as a library: data-parallel training of the VAE. Each rank holds its
// contiguous shard of the dataset; every global batch is a slice of a permutation of all
// training rows keyed by (seed, epoch), each rank processes the rows of that slice it owns,
// gradients (plus the batch loss, so a NaN anywhere reaches every rank) are summed with one
// all-reduce of a flat buffer, and every rank takes the same Adam step.
//
// On host memory with several ranks (train.shard_optimizer), the one all-reduce is done as
// its two halves with the Adam step between them: a reduce-scatter leaves each rank the
// summed gradient of its chunk of the parameters, the rank applies Adam to that chunk only,
// and an all-gather brings every rank the whole updated parameter vector. Same update, same
// bytes moved, and the Adam work (at memory bandwidth) divided by the rank count. Each rank's
// Adam moments are current on its chunk only; they are gathered for checkpoints.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "specvae/core/config.hpp"
#include "specvae/dist/communicator.hpp"
#include "specvae/dist/stage_context.hpp"
#include "specvae/gpu/backend_allreduce.hpp"
#include "specvae/io/dataset.hpp"
#include "specvae/model/backend.hpp"
#include "specvae/model/vae.hpp"
#include "specvae/model/vae_graph.hpp"
#include "specvae/train/batch_source.hpp"
#include "specvae/train/optimiser.hpp"

namespace specvae::train {

// A non-finite loss or gradient: training stops; the last good checkpoint stays.
// "the last good checkpoint is PATH" when it exists, else that none was written yet.
std::string last_good_text(const std::filesystem::path& last);

class TrainingDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EpochMetrics {
  std::int64_t epoch = 0;  // 1-based
  std::int64_t step = 0;   // optimiser steps after this epoch
  double train_loss = 0, train_recon = 0, train_kl = 0;  // per spectrum
  double val_loss = 0, val_recon = 0, val_kl = 0;
  double val_loss_monitored = 0;  // val_loss without the worst train.val_trim of the spectra
  double val_mse = 0;          // paper Eq. 6 at z = μ, mean over validation spectra
  double val_mse_galaxy = 0;   // same, galaxies only (NaN without galaxies)
  double learning_rate = 0;    // used during this epoch
  double spectra_per_s = 0;    // training spectra per second (all ranks)
  double seconds = 0;          // wall time of the epoch (training + validation)
  bool best = false;
  std::string to_json() const;
};

// Whether a run settled, from its epochs' monitored validation loss, validation weighted MSE
// and learning rate: not when the loss still fell by more than 2% over the last fifth of the
// epochs (train longer), nor when the learning rate ended below 1/1000 of its peak (the model
// was stopped by its schedule whether or not it fits: the paper's plateau schedule on a small
// survey); otherwise it did.
struct EpochPoint {
  double loss = 0, val_mse = 0, lr = 0;
};
struct Convergence {
  bool converged = false;
  std::string reason;  // one sentence for the log and train_summary.json
};
Convergence judge_convergence(const std::vector<EpochPoint>& curve);

struct TrainOptions {
  std::filesystem::path data;     // the dataset (run_train reads this rank's shard of it)
  std::filesystem::path out_dir;  // checkpoint-last.h5, checkpoint-best.h5, metrics.jsonl
  bool resume = false;            // continue from out_dir/checkpoint-last.h5
  bool overwrite = false;         // start again in an out_dir that holds a training run
  std::string dataset_hash;       // recorded in checkpoints
  bool write_outputs = true;      // false: no files (tests of the arithmetic)
  std::int64_t stop_after_epoch = 0;  // > 0: end this invocation after that epoch (checkpointed), as a kill would
};

struct StepLoss {
  double loss_sum = 0;  // Σ over the global batch of (recon + kl_weight·KL)
  double recon_sum = 0, kl_sum = 0;
  std::int64_t rows = 0;  // rows of the global batch
};

class Trainer {
 public:
  // local: this rank's rows (train and validation, per /split). backend: null = from
  // train.backend / train.threads.
  Trainer(const Config& config, Communicator& comm, const DatasetRows& local, std::shared_ptr<model::Backend> backend);

  // The all-reduced gradient of global batch `batch` of `epoch` (0-based), keyed by `step`,
  // without taking the optimiser step. The gradient is then in gradient().
  StepLoss compute_gradient(std::int64_t epoch, std::int64_t batch, std::int64_t step);
  // One optimiser step on global batch `batch` of `epoch` at the current step count (the
  // training loop's step). Throws TrainingDiverged on a non-finite loss or gradient, naming
  // `last_good` as the checkpoint to go back to.
  StepLoss train_step(std::int64_t epoch, std::int64_t batch, const model::AdamParams& adam,
                      const std::filesystem::path& last_good);
  // Whether steps reduce-scatter the gradient and shard the Adam step (see above).
  bool shards_optimizer() const { return optimiser_->sharded(); }
  std::vector<float> gradient() const;
  std::vector<float> parameters() const;

  // Trains to planned_epochs() (from the last checkpoint when options.resume).
  std::vector<EpochMetrics> run(const TrainOptions& options);

  // train.epochs, raised so that the run takes at least train.min_steps optimiser steps.
  std::int64_t planned_epochs() const;
  // The cosine schedule's learning rate for optimiser step `step` (0-based) of `total`:
  // linear warm-up over train.warmup_steps, then from train.learning_rate down to
  // train.min_lr at the last step. Never below train.min_lr after the warm-up.
  double cosine_rate(std::int64_t step, std::int64_t total) const;
  // The plateau schedule's cut: current × train.plateau_factor, never below train.min_lr.
  double plateau_rate(double current) const;

  std::int64_t global_train_rows() const { return n_train_; }
  std::int64_t global_val_rows() const { return n_val_; }
  std::int64_t batches_per_epoch() const;
  const model::VaeShape& shape() const { return shape_; }
  const model::InputScaling& scaling() const { return scaling_; }
  const model::Backend& backend() const { return *be_; }

 private:
  // This rank's forward/backward pass on its rows of the batch: gradient in grads_ (not yet
  // summed over ranks); *local_loss = its share of the mean batch loss.
  StepLoss local_gradient(std::int64_t epoch, std::int64_t batch, std::int64_t step, float* local_loss);
  EpochMetrics validate();
  model::InputScaling fit_scaling();  // collective
  // Collective: every rank on the same kind of backend (see trainer.cpp).
  void unify_backend(bool made_here);
  void save(const TrainOptions& options, const std::filesystem::path& path);
  // Trainer::run's parts (train_loop.cpp).
  void prepare_out_dir(const TrainOptions& options);
  void log_plan(const TrainOptions& options, std::int64_t epochs) const;
  void write_verdict(const TrainOptions& options, const std::vector<EpochMetrics>& history,
                     const std::string& metrics_text) const;
  // dataset_hash: the data now (a warning when the checkpoint was trained on other data).
  void restore(const std::filesystem::path& path, const std::string& dataset_hash);

  const Config& config_;
  Communicator& comm_;
  std::shared_ptr<model::Backend> be_;
  model::VaeShape shape_;
  std::int64_t n_params_ = 0;
  std::int64_t batch_size_ = 0;
  std::uint64_t seed_ = 0;
  float kl_weight_ = 1;
  double val_trim_ = 0;  // train.val_trim
  int threads_ = 0;  // train.threads: host-side loops (0 = OpenMP's default)
  // Host copies of this rank's rows: x and w = ivar·(1−mask), train then validation.
  std::vector<float> train_x_, train_w_, val_x_, val_w_;
  std::vector<std::uint8_t> val_is_galaxy_;
  std::vector<float> stage_x_, stage_w_;  // validation batches staged for a device-memory backend
  std::vector<std::int64_t> local_rows_;  // the batch's rows in this rank's training arrays
  model::InputScaling scaling_;           // applied to every batch on its way to the backend
  std::int64_t local_train_ = 0, local_val_ = 0, train_offset_ = 0, val_offset_ = 0, n_train_ = 0, n_val_ = 0;
  // Device state: parameters, gradient (+1 slot for the batch loss), Adam moments, batch.
  model::DeviceBuffer params_, grads_, adam_m_, adam_v_, batch_x_, batch_w_;
  std::unique_ptr<model::VaeGraph> graph_;
  std::unique_ptr<Optimiser> optimiser_;  // the all-reduce and Adam: replicated or sharded
  // Where each batch's rows come from (host rows, or on a CUDA backend with
  // train.device_shard the rows on the GPU), made at the first step.
  bool want_device_shard_ = false;
  std::unique_ptr<BatchSource> batches_;
  model::TrainState state_;
};

struct TrainResult {
  std::vector<EpochMetrics> epochs;  // this invocation's epochs (a resumed run: the new ones)
};

// The stage, collective over ctx.mpi(): reads this rank's shard of options.data and trains.
TrainResult run_train(const StageContext& ctx, const TrainOptions& options);

}  // namespace specvae::train
