// The data-parallel step: which rows of a global batch this rank owns, the forward/backward
// pass on them, the one all-reduce of the flat gradient (with the batch loss appended) or its
// sharded form (reduce-scatter, Adam on this rank's chunk, all-gather), and the Adam step.
#include "specvae/train/trainer.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/dist/trimmed_mean.hpp"

namespace specvae::train {

namespace {
// Per-row weight of the reconstruction term: ivar on good bins, 0 on infilled ones.
void append_rows(const DatasetRows& rows, std::int64_t r, std::vector<float>& x, std::vector<float>& w) {
  const std::size_t b = static_cast<std::size_t>(rows.n_bins);
  const std::size_t off = static_cast<std::size_t>(r) * b;
  x.insert(x.end(), rows.flux.begin() + off, rows.flux.begin() + off + b);
  for (std::size_t j = 0; j < b; ++j) w.push_back(rows.mask[off + j] ? 0.0f : rows.ivar[off + j]);
}
}  // namespace

Trainer::Trainer(const Config& config, Communicator& comm, const DatasetRows& local,
                 std::shared_ptr<model::Backend> backend)
    : config_(config), comm_(comm), be_(std::move(backend)), shape_(model::VaeShape::from_config(config)) {
  const bool made_here = !be_;
  if (!be_)
    be_ = model::make_backend(config.get_string("train.backend"), static_cast<int>(config.get_int("train.threads")),
                              config.get_string("train.gemm"), config.get_bool("train.tf32"),
                              config.get_string("train.cuda_epilogue") == "cublaslt");
  unify_backend(made_here);
  if (local.count > 0 && local.n_bins != shape_.n_input)
    throw InputError(fmt::format("dataset has {} bins per spectrum but model.n_input = {}", local.n_bins, shape_.n_input));
  n_params_ = shape_.n_params();
  batch_size_ = config.get_int("train.batch_size");
  seed_ = static_cast<std::uint64_t>(config.get_int("train.seed"));
  kl_weight_ = static_cast<float>(config.get_double("train.kl_weight"));
  val_trim_ = config.get_double("train.val_trim");
  threads_ = static_cast<int>(config.get_int("train.threads"));

  for (std::int64_t r = 0; r < local.count; ++r) {
    const bool val = local.split[static_cast<std::size_t>(r)] != 0;
    if (val) {
      append_rows(local, r, val_x_, val_w_);
      val_is_galaxy_.push_back(r < static_cast<std::int64_t>(local.spectype.size()) &&
                               local.spectype[static_cast<std::size_t>(r)] == "GALAXY");
    } else {
      append_rows(local, r, train_x_, train_w_);
    }
  }
  local_train_ = static_cast<std::int64_t>(train_x_.size()) / std::max(1, shape_.n_input);
  local_val_ = static_cast<std::int64_t>(val_x_.size()) / std::max(1, shape_.n_input);
  train_offset_ = comm_.exclusive_scan_sum(local_train_);
  val_offset_ = comm_.exclusive_scan_sum(local_val_);
  n_train_ = comm_.allreduce_sum(local_train_);
  n_val_ = comm_.allreduce_sum(local_val_);
  if (n_train_ == 0) throw InputError("the dataset has no training rows (/split == 0)");
  if (config.get_bool("model.standardize")) scaling_ = fit_scaling();

  params_ = model::DeviceBuffer(*be_, static_cast<std::size_t>(n_params_));
  grads_ = model::DeviceBuffer(*be_, static_cast<std::size_t>(n_params_) + 1);
  adam_m_ = model::DeviceBuffer(*be_, static_cast<std::size_t>(n_params_));
  adam_v_ = model::DeviceBuffer(*be_, static_cast<std::size_t>(n_params_));
  const int max_rows = static_cast<int>(std::min<std::int64_t>(batch_size_, std::max(local_train_, local_val_)));
  batch_x_ = model::DeviceBuffer(*be_, static_cast<std::size_t>(std::max(1, max_rows)) * shape_.n_input);
  batch_w_ = model::DeviceBuffer(*be_, static_cast<std::size_t>(std::max(1, max_rows)) * shape_.n_input);
  graph_ = std::make_unique<model::VaeGraph>(shape_, *be_, max_rows);
  optimiser_ = std::make_unique<Optimiser>(comm_, *be_, static_cast<std::size_t>(n_params_),
                                           config.get_bool("train.shard_optimizer"));  // collective
  want_device_shard_ = be_->kind() == model::BackendKind::Cuda && config.get_bool("train.device_shard");

  const std::vector<float> init =
      model::initial_parameters(shape_, seed_, model::init_scheme_from_string(config.get_string("model.init")));
  be_->upload(params_.data(), init.data(), init.size());
  state_.seed = seed_;
  state_.learning_rate = config.get_double("train.learning_rate");
  state_.best_val_loss = std::numeric_limits<double>::infinity();
}

// Ranks on different kinds of backend cannot train together: a CPU rank shards Adam over the
// ranks (reduce-scatter, all-gather) where a GPU rank all-reduces, so they would wait in
// different collectives; and the backends' Adam arithmetic differs in the last bits, so their
// copies of the model would drift apart. That happens with train.backend = auto when some
// ranks see a GPU and others do not (a node with a broken driver): then every rank takes the
// CPU. Any other mix is a configuration error, the same on every rank.
void Trainer::unify_backend(bool made_here) {
  const model::BackendKind kind = be_->kind();
  std::array<double, 3> kinds = {kind == model::BackendKind::Cuda ? 1.0 : 0.0, kind == model::BackendKind::Cpu ? 1.0 : 0.0,
                                  kind == model::BackendKind::Reference ? 1.0 : 0.0};
  comm_.allreduce_sum(std::span<double>(kinds));
  const auto p = static_cast<double>(comm_.size());
  if (kinds[0] == p || kinds[1] == p || kinds[2] == p) return;
  if (made_here && config_.get_string("train.backend") == "auto" && kinds[2] == 0) {
    if (comm_.rank() == 0)
      log::warn("train.backend = auto: {:.0f} of {:.0f} ranks see a GPU and the others do not; every rank trains on "
                "the CPU (give every rank a GPU, or set train.backend = cpu)",
                kinds[0], p);
    if (kind != model::BackendKind::Cpu)
      be_ = model::make_backend("cpu", static_cast<int>(config_.get_int("train.threads")), config_.get_string("train.gemm"));
    return;
  }
  throw ConfigError(fmt::format("train.backend = \"{}\": the ranks run different backends ({:.0f} cuda, {:.0f} cpu, "
                                "{:.0f} reference); every rank must train on the same one",
                                config_.get_string("train.backend"), kinds[0], kinds[1], kinds[2]));
}

model::InputScaling Trainer::fit_scaling() {
  // Mean spectrum and RMS deviation over all ranks' training rows, summed in double.
  const std::size_t nb = static_cast<std::size_t>(shape_.n_input);
  std::vector<double> sum(nb, 0.0);
  for (std::int64_t r = 0; r < local_train_; ++r) {
    const float* x = train_x_.data() + static_cast<std::size_t>(r) * nb;
    for (std::size_t j = 0; j < nb; ++j) sum[j] += x[j];
  }
  comm_.allreduce_sum(std::span<double>(sum));
  model::InputScaling s;
  s.offset.resize(nb);
  for (std::size_t j = 0; j < nb; ++j) s.offset[j] = static_cast<float>(sum[j] / static_cast<double>(n_train_));
  double ss = 0;
  for (std::int64_t r = 0; r < local_train_; ++r) {
    const float* x = train_x_.data() + static_cast<std::size_t>(r) * nb;
    for (std::size_t j = 0; j < nb; ++j) {
      const double d = static_cast<double>(x[j]) - s.offset[j];
      ss += d * d;
    }
  }
  ss = comm_.allreduce_sum(ss);
  const double rms = std::sqrt(ss / (static_cast<double>(n_train_) * static_cast<double>(nb)));
  // All training spectra identical (or one row): keep the offset, leave the scale at 1.
  s.scale = rms > 0 && std::isfinite(rms) ? static_cast<float>(rms) : 1.0f;
  log::info("model input: mean training spectrum subtracted, scaled by 1/{:.4g} (model.standardize)", s.scale);
  return s;
}

std::int64_t Trainer::batches_per_epoch() const { return (n_train_ + batch_size_ - 1) / batch_size_; }

StepLoss Trainer::local_gradient(std::int64_t epoch, std::int64_t batch, std::int64_t step, float* local_loss) {
  // Positions [b·B, b·B + B) of the epoch's permutation; keep the rows this rank owns.
  const rng::FeistelPermutation perm(static_cast<std::uint64_t>(n_train_), seed_, static_cast<std::uint32_t>(epoch));
  const std::int64_t first = batch * batch_size_;
  const std::int64_t last = std::min(n_train_, first + batch_size_);
  SPECVAE_CHECK(first < last, "batch {} is past the end of epoch {}", batch, epoch);
  std::vector<std::int64_t> ids;
  for (std::int64_t p = first; p < last; ++p) {
    const auto g = static_cast<std::int64_t>(perm(static_cast<std::uint64_t>(p)));
    if (g >= train_offset_ && g < train_offset_ + local_train_) ids.push_back(g);
  }
  const int m = static_cast<int>(ids.size());
  local_rows_.resize(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) local_rows_[i] = ids[i] - train_offset_;
  if (!batches_)  // at the first step, when the scaling is final (a resumed run takes the checkpoint's)
    batches_ = make_batch_source(*be_, train_x_, train_w_, local_train_, shape_.n_input, scaling_, want_device_shard_,
                                 threads_, comm_.rank());
  batches_->gather(local_rows_, batch_x_.data(), batch_w_.data());

  model::PassOptions o;
  o.training = true;
  o.seed = seed_;
  o.step = static_cast<std::uint32_t>(step);
  o.kl_weight = kl_weight_;
  o.grad_scale = 1.0f / static_cast<float>(last - first);
  const model::BatchLoss bl = graph_->run(params_.data(), batch_x_.data(), batch_w_.data(), m, ids, o, grads_.data());

  *local_loss = static_cast<float>((bl.recon_sum + kl_weight_ * bl.kl_sum) * o.grad_scale);
  StepLoss out;
  out.loss_sum = bl.recon_sum + kl_weight_ * bl.kl_sum;
  out.recon_sum = bl.recon_sum;
  out.kl_sum = bl.kl_sum;
  out.rows = last - first;
  return out;
}

StepLoss Trainer::compute_gradient(std::int64_t epoch, std::int64_t batch, std::int64_t step) {
  float local_loss = 0;
  const StepLoss out = local_gradient(epoch, batch, step, &local_loss);
  // The batch loss rides in the gradient's last slot: one all-reduce, and a NaN on any rank
  // reaches every rank.
  be_->upload(grads_.data() + n_params_, &local_loss, 1);
  optimiser_->all_reduce(grads_.data());
  return out;
}

StepLoss Trainer::train_step(std::int64_t epoch, std::int64_t batch, const model::AdamParams& adam_in,
                             const std::filesystem::path& last_good) {
  model::AdamParams adam = adam_in;
  adam.t = state_.step + 1;
  float local_loss = 0;
  const StepLoss out = local_gradient(epoch, batch, state_.step, &local_loss);
  const std::array<double, 2> check =
      optimiser_->step(params_.data(), grads_.data(), adam_m_.data(), adam_v_.data(), local_loss, adam);
  if (!std::isfinite(check[0]) || !std::isfinite(check[1]))
    throw TrainingDiverged(fmt::format("non-finite loss or gradient at step {} (epoch {}, batch {}); seed {}; {} "
                                       "(a learning rate too high, or spectra with extreme values)",
                                       state_.step + 1, epoch + 1, batch + 1, seed_, last_good_text(last_good)));
  ++state_.step;
  return out;
}

std::vector<float> Trainer::gradient() const {
  std::vector<float> g(static_cast<std::size_t>(n_params_));
  be_->download(g.data(), grads_.data(), g.size());
  return g;
}

std::vector<float> Trainer::parameters() const {
  std::vector<float> p(static_cast<std::size_t>(n_params_));
  be_->download(p.data(), params_.data(), p.size());
  return p;
}

EpochMetrics Trainer::validate() {
  // Evaluation: dropout off; the ELBO's noise from a fixed stream (step 0, kValNoise) so
  // that epochs are compared on the same draws; Eq. 6 at z = μ.
  EpochMetrics e;
  double sums[5] = {0, 0, 0, 0, 0};  // recon, kl, mse, mse galaxies, n galaxies
  std::vector<double> row_loss;      // this rank's per-spectrum losses, for the monitored loss
  row_loss.reserve(static_cast<std::size_t>(local_val_));
  const std::size_t nb = static_cast<std::size_t>(shape_.n_input);
  const std::int64_t chunk = std::max(1, graph_->max_rows());
  for (std::int64_t r0 = 0; r0 < local_val_; r0 += chunk) {
    const int m = static_cast<int>(std::min(chunk, local_val_ - r0));
    std::vector<std::int64_t> ids(static_cast<std::size_t>(m));
    for (int i = 0; i < m; ++i) ids[static_cast<std::size_t>(i)] = val_offset_ + r0 + i;
    const std::size_t first = static_cast<std::size_t>(r0) * nb, count = static_cast<std::size_t>(m) * nb;
    if (scaling_.identity()) {
      be_->upload(batch_x_.data(), val_x_.data() + first, count);
      be_->upload(batch_w_.data(), val_w_.data() + first, count);
    } else {
      stage_x_.assign(val_x_.begin() + static_cast<std::ptrdiff_t>(first), val_x_.begin() + static_cast<std::ptrdiff_t>(first + count));
      stage_w_.assign(val_w_.begin() + static_cast<std::ptrdiff_t>(first), val_w_.begin() + static_cast<std::ptrdiff_t>(first + count));
      scaling_.to_model(stage_x_.data(), stage_w_.data(), m, shape_.n_input, threads_);
      be_->upload(batch_x_.data(), stage_x_.data(), count);
      be_->upload(batch_w_.data(), stage_w_.data(), count);
    }
    model::PassOptions o;
    o.training = false;
    o.seed = seed_;
    o.step = 0;
    o.noise_purpose = rng::kValNoise;
    o.eq6 = true;
    const model::BatchLoss bl = graph_->run(params_.data(), batch_x_.data(), batch_w_.data(), m, ids, o, nullptr);
    sums[0] += bl.recon_sum;
    sums[1] += bl.kl_sum;
    sums[2] += bl.mse_sum;
    for (int i = 0; i < m; ++i)
      row_loss.push_back(static_cast<double>(graph_->last_recon()[static_cast<std::size_t>(i)]) +
                         kl_weight_ * static_cast<double>(graph_->last_kl()[static_cast<std::size_t>(i)]));
    for (int i = 0; i < m; ++i)
      if (val_is_galaxy_[static_cast<std::size_t>(r0 + i)]) {
        sums[3] += graph_->last_mse()[static_cast<std::size_t>(i)];
        sums[4] += 1;
      }
  }
  comm_.allreduce_sum(std::span<double>(sums, 5));
  const double n = static_cast<double>(std::max<std::int64_t>(1, n_val_));
  e.val_recon = sums[0] / n;
  e.val_kl = sums[1] / n;
  e.val_loss = e.val_recon + kl_weight_ * e.val_kl;
  e.val_mse = sums[2] / n;
  e.val_mse_galaxy = sums[4] > 0 ? sums[3] / sums[4] : std::numeric_limits<double>::quiet_NaN();
  // What the schedule and the best checkpoint follow: with train.val_trim > 0, the mean loss
  // without the worst-fitted val_trim of the spectra. On a simulated survey the ≈ 1.5% of
  // anomalies make about half of the validation loss, and their reconstructions swing from
  // epoch to epoch. Off by default (the paper's plain mean): it did not change the trained
  // model's quality over six seeds (bench/RESULTS.md).
  // (A non-finite loss skips it on every rank alike: val_loss is all-reduced, and the epoch loop
  // stops with its own message.)
  e.val_loss_monitored =
      val_trim_ > 0 && std::isfinite(e.val_loss) ? trimmed_mean(comm_, row_loss, val_trim_).mean : e.val_loss;
  return e;
}

}  // namespace specvae::train
