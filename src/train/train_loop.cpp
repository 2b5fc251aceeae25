// The epoch loop: optimiser steps, validation, the plateau learning-rate schedule, the
// divergence check, checkpoints (last and best) and per-epoch metrics as JSON lines, with a
// progress line and ETA on rank 0. Resume restores weights, Adam moments, step and schedule,
// and the counter-based RNG needs nothing else, so a resumed run repeats the same losses.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <fstream>
#include <sstream>
#include <limits>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "specvae/core/error.hpp"
#include "specvae/core/stop_signal.hpp"
#include "specvae/core/log.hpp"
#include "specvae/core/staged_file.hpp"
#include "specvae/core/version.hpp"
#include "specvae/train/trainer.hpp"

namespace specvae::train {

namespace {
using Clock = std::chrono::steady_clock;
// Below this many optimiser steps in a whole training run, train warns that it undertrains.
constexpr std::int64_t kFewOptimiserSteps = 5000;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

std::string last_good_text(const std::filesystem::path& last) {
  return std::filesystem::exists(last) ? fmt::format("the last good checkpoint is {}", last.string())
                                       : std::string("no checkpoint was written before it");
}

namespace {
// JSON has no NaN/Inf: write them as null.
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// Lines of an existing metrics file for epochs ≤ last_epoch (a resumed run rewrites the rest).
std::string kept_metrics(const std::filesystem::path& path, std::int64_t last_epoch) {
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("epoch")) continue;
    if (j["epoch"].get<std::int64_t>() <= last_epoch) kept += line + "\n";
  }
  return kept;
}
}  // namespace

std::string EpochMetrics::to_json() const {
  nlohmann::json j;
  j["epoch"] = epoch;
  j["step"] = step;
  j["train_loss"] = number(train_loss);
  j["train_recon"] = number(train_recon);
  j["train_kl"] = number(train_kl);
  j["val_loss"] = number(val_loss);
  j["val_recon"] = number(val_recon);
  j["val_kl"] = number(val_kl);
  j["val_loss_monitored"] = number(val_loss_monitored);
  j["val_mse"] = number(val_mse);
  j["val_mse_galaxy"] = number(val_mse_galaxy);
  j["lr"] = learning_rate;
  j["spectra_per_s"] = number(spectra_per_s);
  j["seconds"] = seconds;
  j["best"] = best;
  return j.dump();
}

void Trainer::save(const TrainOptions& options, const std::filesystem::path& path) {
  // Collective: rank 0 writes; everyone waits so no rank runs ahead of a failed write.
  optimiser_->gather_moments(adam_m_.data(), adam_v_.data());  // every chunk on rank 0
  if (comm_.rank() == 0) {
    model::Checkpoint c;
    c.shape = shape_;
    c.params = parameters();
    c.scaling = scaling_;
    c.adam_m.resize(c.params.size());
    c.adam_v.resize(c.params.size());
    be_->download(c.adam_m.data(), adam_m_.data(), c.adam_m.size());
    be_->download(c.adam_v.data(), adam_v_.data(), c.adam_v.size());
    c.state = state_;
    c.config_hash = config_.hash();
    c.config_toml = config_.to_toml();
    c.dataset_hash = options.dataset_hash;
    c.code_version = version_string();
    model::save_checkpoint(path, c);
  }
  comm_.barrier();
}

namespace {
// The training state's scalars as rank 0 read them, sent to every rank as they are (no
// integers through doubles); the per-rank partial sums follow apart.
struct ResumeScalars {
  std::int64_t epoch = 0, step = 0, best_epoch = 0, bad_epochs = 0, batch = 0;
  double learning_rate = 0, best_val_loss = 0;
};
static_assert(std::is_trivially_copyable_v<ResumeScalars>);
}  // namespace

void Trainer::restore(const std::filesystem::path& path, const std::string& dataset_hash) {
  // Rank 0 reads, everyone receives: one reader however many ranks.
  // buf: params, adam_m, adam_v, then the input scaling (offset [n_input], scale, has-offset).
  const std::size_t n_in = static_cast<std::size_t>(shape_.n_input);
  std::vector<float> buf(static_cast<std::size_t>(3 * n_params_) + n_in + 2);
  ResumeScalars state;
  std::vector<double> partial;  // a stop inside an epoch: [lr, (loss, recon, kl) × ranks then]
  std::int64_t ok = 1;
  std::string error;
  if (comm_.rank() == 0) {
    try {
      const model::Checkpoint c = model::load_checkpoint(path);
      if (!(c.shape == shape_))
        throw InputError(fmt::format("checkpoint {} holds a {} model but the config asks for {}", path.string(),
                                     c.shape.describe(), shape_.describe()));
      if (c.adam_m.empty()) throw InputError(fmt::format("checkpoint {} has no optimiser state to resume from", path.string()));
      if (!(c.state.learning_rate >= 0) || !std::isfinite(c.state.learning_rate))
        throw InputError(fmt::format("checkpoint {}: learning_rate {} is not a finite number >= 0", path.string(),
                                     c.state.learning_rate));
      if (c.state.seed != seed_)
        throw InputError(fmt::format("checkpoint {} was trained with train.seed = {}, the config says {}", path.string(),
                                     c.state.seed, seed_));
      // Extending a run (more train.epochs) is the usual reason to resume, and moving it to
      // other hardware (execution keys: threads, backend, ...) is allowed; warn on anything else.
      if (c.config_hash != config_.hash()) {
        Config saved = Config::from_toml(c.config_toml, path.string());
        saved.set_value("train.epochs", config_.get_int("train.epochs"));
        for (const auto& [key, value] : config_.values())
          if (is_execution_key(key)) saved.set_value(key, value);
        if (saved.hash() != config_.hash())
          log::warn("resuming from {} written with a different config ({} vs {} now, beyond train.epochs)",
                    path.string(), c.config_hash, config_.hash());
      }
      if (!dataset_hash.empty() && !c.dataset_hash.empty() && c.dataset_hash != dataset_hash)
        log::warn("resuming from {}, trained on another dataset (dataset_hash {}, this one {}): its best validation "
                  "loss was measured on other rows",
                  path.string(), c.dataset_hash, dataset_hash);
      std::copy(c.params.begin(), c.params.end(), buf.begin());
      std::copy(c.adam_m.begin(), c.adam_m.end(), buf.begin() + n_params_);
      std::copy(c.adam_v.begin(), c.adam_v.end(), buf.begin() + 2 * n_params_);
      // The scaling is part of the model: the checkpoint's, not one refitted to the data now.
      std::copy(c.scaling.offset.begin(), c.scaling.offset.end(), buf.begin() + 3 * n_params_);
      buf[static_cast<std::size_t>(3 * n_params_) + n_in] = c.scaling.scale;
      buf[static_cast<std::size_t>(3 * n_params_) + n_in + 1] = c.scaling.offset.empty() ? 0.0f : 1.0f;
      state = {.epoch = c.state.epoch,
               .step = c.state.step,
               .best_epoch = c.state.best_epoch,
               .bad_epochs = c.state.bad_epochs,
               .batch = c.state.batch,
               .learning_rate = c.state.learning_rate,
               .best_val_loss = c.state.best_val_loss};
      partial = c.state.partial;
      if (c.state.batch >= batches_per_epoch())
        throw InputError(fmt::format("checkpoint {} stopped after batch {} of an epoch, but an epoch here has {} batches "
                                     "(another dataset or batch size)",
                                     path.string(), c.state.batch, batches_per_epoch()));
    } catch (const InputError& e) {
      ok = 0;
      error = e.what();
    }
  }
  comm_.broadcast(std::span<std::int64_t>(&ok, 1), 0);
  if (!ok) throw InputError(comm_.rank() == 0 ? error : "resume failed on rank 0 (see its message)");
  comm_.broadcast(std::span<float>(buf), 0);
  comm_.broadcast_bytes(&state, sizeof state, 0);
  {
    std::int64_t n_partial = static_cast<std::int64_t>(partial.size());
    comm_.broadcast(std::span<std::int64_t>(&n_partial, 1), 0);
    partial.resize(static_cast<std::size_t>(n_partial));
    comm_.broadcast(std::span<double>(partial), 0);
  }
  be_->upload(params_.data(), buf.data(), static_cast<std::size_t>(n_params_));
  be_->upload(adam_m_.data(), buf.data() + n_params_, static_cast<std::size_t>(n_params_));
  be_->upload(adam_v_.data(), buf.data() + 2 * n_params_, static_cast<std::size_t>(n_params_));
  const float* sc = buf.data() + 3 * n_params_;
  scaling_.scale = sc[n_in];
  if (sc[n_in + 1] != 0.0f) scaling_.offset.assign(sc, sc + n_in);
  else scaling_.offset.clear();
  state_.epoch = state.epoch;
  state_.step = state.step;
  state_.learning_rate = state.learning_rate;
  state_.best_val_loss = state.best_val_loss;
  state_.best_epoch = state.best_epoch;
  state_.bad_epochs = state.bad_epochs;
  state_.batch = state.batch;
  state_.partial = std::move(partial);
}

std::int64_t Trainer::planned_epochs() const {
  const std::int64_t epochs = config_.get_int("train.epochs"), min_steps = config_.get_int("train.min_steps");
  const std::int64_t nb = std::max<std::int64_t>(1, batches_per_epoch());
  return std::max(epochs, (min_steps + nb - 1) / nb);
}

double Trainer::cosine_rate(std::int64_t step, std::int64_t total) const {
  const double lr = config_.get_double("train.learning_rate"), floor = std::min(lr, config_.get_double("train.min_lr"));
  const std::int64_t warmup = std::min(config_.get_int("train.warmup_steps"), std::max<std::int64_t>(total - 1, 0));
  if (step < warmup) return lr * static_cast<double>(step + 1) / static_cast<double>(warmup + 1);
  const std::int64_t span = std::max<std::int64_t>(1, total - 1 - warmup);
  const double t = std::clamp(static_cast<double>(step - warmup) / static_cast<double>(span), 0.0, 1.0);
  return floor + 0.5 * (lr - floor) * (1.0 + std::cos(std::numbers::pi * t));
}

double Trainer::plateau_rate(double current) const {
  return std::max(config_.get_double("train.min_lr"), current * config_.get_double("train.plateau_factor"));
}

// The output folder before the first epoch: --resume needs checkpoint-last.h5; a fresh run
// refuses a folder holding a run unless --overwrite, then clears it (collective).
void Trainer::prepare_out_dir(const TrainOptions& options) {
  const auto last_path = options.out_dir / "checkpoint-last.h5";
  const auto best_path = options.out_dir / "checkpoint-best.h5";
  const auto metrics_path = options.out_dir / "metrics.jsonl";
  // Checked on every rank (the same files), so every rank throws together.
  if (options.resume && !std::filesystem::exists(last_path))
    throw InputError(fmt::format("--resume: {} does not exist", last_path.string()));
  if (!options.resume && options.write_outputs) {
    std::vector<std::string> found;
    for (const auto& p : {last_path, best_path, metrics_path})
      if (std::filesystem::exists(p)) found.push_back(p.filename().string());
    if (!found.empty() && !options.overwrite)
      throw InputError(fmt::format("{}: holds a training run already ({}); pass {}--overwrite to start again",
                                   options.out_dir.string(), fmt::join(found, ", "),
                                   std::filesystem::exists(last_path) ? "--resume to continue it or " : ""));
    comm_.barrier();  // every rank has looked before rank 0 removes them
    if (comm_.rank() == 0)
      for (const auto& p : {last_path, best_path, metrics_path}) std::filesystem::remove(p);
  }
  if (options.write_outputs && comm_.rank() == 0) std::filesystem::create_directories(options.out_dir);
  comm_.barrier();
}

// What the run will do, in the log: the shape, the data, the steps, the schedule, and the
// warnings a user should see before waiting for it.
void Trainer::log_plan(const TrainOptions& options, std::int64_t epochs) const {
  const auto last_path = options.out_dir / "checkpoint-last.h5";
  log::info("training {} on {} train / {} validation spectra, {} ranks, batch {}: {} optimiser steps an epoch, {} "
            "in {} epochs{}; {} schedule; backend {}",
            shape_.describe(), n_train_, n_val_, comm_.size(), batch_size_, batches_per_epoch(),
            batches_per_epoch() * epochs, epochs,
            epochs > config_.get_int("train.epochs")
                ? fmt::format(" (train.epochs = {} raised to reach train.min_steps = {})", config_.get_int("train.epochs"),
                              config_.get_int("train.min_steps"))
                : std::string(),
            config_.get_string("train.schedule"), be_->describe());
  if (options.resume && state_.epoch >= epochs)
    log::info("{} is after epoch {} of {}: nothing left to train (raise train.epochs or train.min_steps to go on)",
              last_path.string(), state_.epoch, epochs);
  if (n_val_ == 0)
    log::warn("the dataset has no validation rows (/split == 1): the learning-rate schedule and checkpoint-best.h5 "
              "follow the training loss");
  // Measured on the 20k simulated survey (bench/RESULTS.md, train): 950 steps of the paper's
  // recipe leave normal galaxies at 3.4–4.2 mean weighted MSE; 3,800 at a constant 3e-4 reach 1.7.
  if (const std::int64_t steps = batches_per_epoch() * epochs; steps < kFewOptimiserSteps && !options.resume)
    log::warn("{} optimiser steps in all ({} epochs of {} training spectra) are few for this model: expect it "
              "undertrained (README, \"On a small survey\": more epochs at a lower learning rate)",
              steps, epochs, n_train_);
  if (optimiser_->sharded())
    log::info("gradients reduce-scattered; each rank takes the Adam step for 1/{} of the parameters, then all-gather "
              "(train.shard_optimizer)",
              comm_.size());

}

// After the last epoch (rank 0): judge convergence on every epoch of the run (a resumed
// run's earlier ones from metrics.jsonl), log it and write train_summary.json.
void Trainer::write_verdict(const TrainOptions& options, const std::vector<EpochMetrics>& history,
                            const std::string& metrics_text) const {
  // Every epoch's line of this run (a resumed run's earlier ones from metrics.jsonl).
  std::vector<EpochPoint> curve;
  if (options.write_outputs) {
    std::istringstream lines(metrics_text);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) continue;
      const auto get = [&](const char* k) { return j.contains(k) && j[k].is_number() ? j[k].get<double>() : NAN; };
      curve.push_back({std::isfinite(get("val_loss_monitored")) ? get("val_loss_monitored") : get("train_loss"),
                       get("val_mse"), get("lr")});
    }
  } else {
    for (const EpochMetrics& m : history)
      curve.push_back({n_val_ > 0 ? m.val_loss_monitored : m.train_loss, m.val_mse, m.learning_rate});
  }
  const Convergence c = judge_convergence(curve);
  if (c.converged)
    log::info("training converged: {}", c.reason);
  else
    log::warn("training did not converge: {}", c.reason);
  if (options.write_outputs) {
    nlohmann::json j;
    j["converged"] = c.converged;
    j["reason"] = c.reason;
    j["epochs"] = state_.epoch;
    j["steps"] = state_.step;
    j["best_epoch"] = state_.best_epoch;
    j["best_monitored_loss"] = number(state_.best_val_loss);
    j["final_val_mse"] = number(curve.back().val_mse);
    j["final_lr"] = state_.learning_rate;
    j["schedule"] = config_.get_string("train.schedule");
    write_file_atomically(options.out_dir / "train_summary.json", j.dump(1) + "\n");
  }
}

std::vector<EpochMetrics> Trainer::run(const TrainOptions& options) {
  const std::int64_t epochs = planned_epochs();
  const bool cosine = config_.get_string("train.schedule") == "cosine";
  const bool plateau = config_.get_string("train.schedule") == "plateau";
  const std::int64_t patience = config_.get_int("train.plateau_patience");
  const std::int64_t every = config_.get_int("train.checkpoint_every");
  model::AdamParams adam;
  adam.beta1 = static_cast<float>(config_.get_double("train.adam_beta1"));
  adam.beta2 = static_cast<float>(config_.get_double("train.adam_beta2"));
  adam.eps = static_cast<float>(config_.get_double("train.adam_eps"));

  const auto last_path = options.out_dir / "checkpoint-last.h5";
  const auto best_path = options.out_dir / "checkpoint-best.h5";
  const auto metrics_path = options.out_dir / "metrics.jsonl";
  std::string metrics_text;
  prepare_out_dir(options);
  if (options.resume) {
    restore(last_path, options.dataset_hash);
    if (comm_.rank() == 0) metrics_text = kept_metrics(metrics_path, state_.epoch);
    log::info("resuming after epoch {}{} (step {}, lr {:g})", state_.epoch,
              state_.batch > 0 ? fmt::format(" and batch {} of epoch {}", state_.batch, state_.epoch + 1) : std::string(),
              state_.step, state_.learning_rate);
  }
  log_plan(options, epochs);

  std::vector<EpochMetrics> history;
  const std::int64_t nb = batches_per_epoch();
  const auto run_start = Clock::now();
  const std::int64_t first_epoch = state_.epoch;
  // SIGUSR1/SIGTERM (a batch system's warning) stop the run after the batch in hand, every rank
  // at the same batch: checkpoint-last.h5 then holds the state within the epoch, and --resume
  // continues from it as if never stopped.
  const StoppableSection stoppable;
  const auto stop_now = [&] { return comm_.allreduce_max(static_cast<double>(stop_signal())) > 0; };
  for (std::int64_t epoch = state_.epoch; epoch < epochs; ++epoch) {
    const auto t0 = Clock::now();
    auto last_progress = t0;
    double sums[3] = {0, 0, 0};
    EpochMetrics e;
    e.learning_rate = state_.learning_rate;
    adam.lr = static_cast<float>(state_.learning_rate);
    std::int64_t first_batch = 0;
    if (state_.batch > 0) {  // resumed inside this epoch
      first_batch = state_.batch;
      e.learning_rate = state_.partial.at(0);
      // Each rank takes its own sums back (the epoch's losses then come out the same bits);
      // on another rank count rank 0 takes them all.
      const std::size_t ranks = (state_.partial.size() - 1) / 3, me = static_cast<std::size_t>(comm_.rank());
      for (std::size_t r = 0; r < ranks; ++r)
        if (ranks == static_cast<std::size_t>(comm_.size()) ? r == me : me == 0)
          for (int k = 0; k < 3; ++k) sums[k] += state_.partial[1 + 3 * r + static_cast<std::size_t>(k)];
      state_.batch = 0;
      state_.partial.clear();
    }
    for (std::int64_t b = first_batch; b < nb; ++b) {
      if (cosine) {
        state_.learning_rate = cosine_rate(state_.step, nb * epochs);
        adam.lr = static_cast<float>(state_.learning_rate);
        if (b == 0) e.learning_rate = state_.learning_rate;
      }
      const StepLoss sl = train_step(epoch, b, adam, last_path);
      sums[0] += sl.loss_sum;
      sums[1] += sl.recon_sum;
      sums[2] += sl.kl_sum;
      if (comm_.rank() == 0 && seconds_since(last_progress) > 10.0) {
        last_progress = Clock::now();
        const double done = static_cast<double>((epoch - first_epoch) * nb + b + 1);
        const double total = static_cast<double>((epochs - first_epoch) * nb);
        const double eta = seconds_since(run_start) / done * (total - done);
        log::info("epoch {}/{} batch {}/{}  {:.0f} spectra/s  ETA {:.0f} s", epoch + 1, epochs, b + 1, nb,
                  static_cast<double>((b + 1) * batch_size_) / seconds_since(t0), eta);
      }
      if (b + 1 < nb && stop_now()) {
        state_.batch = b + 1;
        const std::vector<double> all = comm_.allgatherv(std::span<const double>(sums, 3));
        state_.partial = {e.learning_rate};
        state_.partial.insert(state_.partial.end(), all.begin(), all.end());
        if (options.write_outputs) save(options, last_path);
        state_.batch = 0;
        state_.partial.clear();
        throw Stopped(fmt::format("stopped by {} after batch {} of {} in epoch {} (step {}); {} holds the run: the same "
                                  "command with --resume (or `specvae run` again) continues it",
                                  stop_signal_name(), b + 1, nb, epoch + 1, state_.step, last_path.string()));
      }
    }
    const double train_seconds = seconds_since(t0);
    comm_.allreduce_sum(std::span<double>(sums, 3));
    EpochMetrics v = validate();
    e.epoch = epoch + 1;
    e.step = state_.step;
    e.train_loss = sums[0] / static_cast<double>(n_train_);
    e.train_recon = sums[1] / static_cast<double>(n_train_);
    e.train_kl = sums[2] / static_cast<double>(n_train_);
    e.val_loss = v.val_loss;
    e.val_recon = v.val_recon;
    e.val_kl = v.val_kl;
    e.val_loss_monitored = v.val_loss_monitored;
    e.val_mse = v.val_mse;
    e.val_mse_galaxy = v.val_mse_galaxy;
    e.spectra_per_s = static_cast<double>(n_train_) / train_seconds;
    if (!std::isfinite(e.val_loss) || !std::isfinite(e.train_loss))
      throw TrainingDiverged(fmt::format("non-finite loss after epoch {} (step {}); {}", e.epoch, state_.step,
                                         last_good_text(last_path)));

    // Plateau schedule (Keras ReduceLROnPlateau semantics): monitor the validation loss, less
    // its worst-fitted train.val_trim of spectra (train loss without a validation split);
    // after `patience` epochs without improvement, ×factor.
    const double monitored = n_val_ > 0 ? e.val_loss_monitored : e.train_loss;
    state_.epoch = epoch + 1;
    if (monitored < state_.best_val_loss) {
      state_.best_val_loss = monitored;
      state_.best_epoch = e.epoch;
      state_.bad_epochs = 0;
      e.best = true;
    } else if (++state_.bad_epochs >= patience && plateau) {
      state_.learning_rate = plateau_rate(state_.learning_rate);
      state_.bad_epochs = 0;
      log::info("validation loss has not improved for {} epochs: learning rate now {:g}", patience, state_.learning_rate);
    }
    e.seconds = seconds_since(t0);
    if (options.write_outputs) {
      // Metrics first: a resume keeps the lines up to its checkpoint's epoch, so a run killed
      // between the two writes loses no epoch's line.
      if (comm_.rank() == 0) {
        metrics_text += e.to_json() + "\n";
        write_file_atomically(metrics_path, metrics_text);
      }
      if (e.best) save(options, best_path);
      if (e.epoch % every == 0 || e.epoch == epochs) save(options, last_path);
    }
    const std::string monitored_text =
        e.val_loss_monitored != e.val_loss ? fmt::format(" (monitored {:.4f})", e.val_loss_monitored) : std::string();
    log::info("epoch {}/{}: train {:.4f} (recon {:.4f}, KL {:.4f})  val {:.4f}{}  val MSE {:.4f}  lr {:g}  {:.0f} spectra/s  {:.1f} s{}",
              e.epoch, epochs, e.train_loss, e.train_recon, e.train_kl, e.val_loss, monitored_text, e.val_mse,
              e.learning_rate, e.spectra_per_s, e.seconds, e.best ? "  (best)" : "");
    history.push_back(e);
    if (e.epoch < epochs && stop_now()) {
      if (options.write_outputs && e.epoch % every != 0) save(options, last_path);
      throw Stopped(fmt::format("stopped by {} after epoch {} of {} (step {}); {} holds the run: the same command with "
                                "--resume (or `specvae run` again) continues it",
                                stop_signal_name(), e.epoch, epochs, state_.step, last_path.string()));
    }
    if (options.stop_after_epoch > 0 && e.epoch >= options.stop_after_epoch && e.epoch < epochs) {
      if (options.write_outputs && e.epoch % every != 0) save(options, last_path);
      return history;  // stopped early: no verdict
    }
  }
  if (!history.empty() && comm_.rank() == 0) write_verdict(options, history, metrics_text);
  return history;
}

Convergence judge_convergence(const std::vector<EpochPoint>& curve) {
  Convergence c;
  const std::size_t n = curve.size();
  if (n < 5) {
    c.reason = fmt::format("only {} epochs, too few to judge (raise train.min_steps)", n);
    return c;
  }
  // The best monitored loss in the first 80% of the epochs against the best of all of them.
  const std::size_t head = std::max<std::size_t>(1, (n * 4) / 5);
  double best_head = INFINITY, best_all = INFINITY;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(curve[i].loss)) continue;
    if (i < head) best_head = std::min(best_head, curve[i].loss);
    best_all = std::min(best_all, curve[i].loss);
  }
  const double gain = (best_head - best_all) / std::max(std::abs(best_head), 1e-12);
  const double mse = curve.back().val_mse;
  const std::string mse_text =
      std::isfinite(mse) ? fmt::format("; validation weighted MSE {:.3g} (≈ 1 is a fit to the noise)", mse) : std::string();
  // A learning rate cut to under 1/1000 of its peak (the paper's plateau schedule: 1e-3 to 1e-7
  // within 20 epochs of a small survey) stops the model whether or not it fits: a flat loss
  // then says nothing. The first epoch below that is named.
  double peak = 0;
  for (const EpochPoint& p : curve) peak = std::max(peak, p.lr);
  if (peak > 0 && curve.back().lr < 1e-3 * peak) {
    std::size_t dead = 0;
    while (dead < n && curve[dead].lr >= 1e-3 * peak) ++dead;
    c.reason = fmt::format("the learning rate was cut from {:.2g} to {:.2g} by epoch {} of {}: the model stopped "
                           "learning, whether or not it fits{} (use train.schedule = \"constant\" or \"cosine\", or "
                           "raise train.min_lr)",
                           peak, curve[dead].lr, dead + 1, n, mse_text);
    return c;
  }
  if (!(gain <= 0.02)) {
    c.reason = fmt::format("the validation loss still fell {:.1f}% over the last {} of {} epochs{}: train longer "
                           "(raise train.min_steps or train.epochs)",
                           100 * gain, n - head, n, mse_text);
    return c;
  }
  c.converged = true;
  c.reason = fmt::format("the validation loss fell {:.2f}% over the last {} of {} epochs{}", 100 * gain, n - head, n,
                         mse_text);
  return c;
}

}  // namespace specvae::train
