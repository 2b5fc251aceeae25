// The paper's VAE (Nicolaou et al. 2025, §3): shape from the config, all parameters in one
// flat float buffer, inference on a batch (encode to (μ, log σ²), decode z to x̂, dropout
// off) on any backend, and the HDF5 checkpoint that holds weights and training state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "specvae/core/config.hpp"
#include "specvae/model/backend.hpp"

namespace specvae::model {

// One fully connected layer inside the flat parameter buffer: W [n_out×n_in] (row-major,
// PyTorch's layout) at w_offset, then b [n_out] at b_offset.
struct LayerShape {
  int n_in = 0;
  int n_out = 0;
  Activation activation = Activation::Identity;
  bool dropout = false;  // dropout after the activation (training only)
  std::int64_t w_offset = 0;
  std::int64_t b_offset = 0;
};

struct VaeShape {
  int n_input = 1000;
  std::vector<int> encoder{800, 600, 500, 300};
  int latent = 10;
  std::vector<int> decoder{300, 500, 600, 800};
  float dropout = 0.2f;

  // model.n_input, model.encoder_layers, model.latent_dim, model.decoder_layers, model.dropout.
  static VaeShape from_config(const Config& config);

  // Every layer in order: encoder hidden layers (ReLU + dropout), the encoder head
  // (→ 2·latent: μ then log σ², linear), decoder hidden layers (ReLU + dropout), the output
  // layer (→ n_input, linear). The encoder has encoder.size()+1 layers.
  std::vector<LayerShape> layers() const;
  int n_encoder_layers() const { return static_cast<int>(encoder.size()) + 1; }
  std::int64_t n_params() const;
  std::string describe() const;  // "1000-800-600-500-300-(10)-300-500-600-800-1000"
  bool operator==(const VaeShape&) const = default;
};

// Initialisation schemes (model.init); each layer's draws are keyed by (seed, layer, element)
// so initialisation is thread-count free.
//   glorot  : Glorot-uniform weights, zero biases (Keras's Dense default)
//   he      : He-uniform weights on ReLU layers, Glorot-uniform on linear ones, zero biases
//   pytorch : U(±1/√fan_in) weights and biases (torch.nn.Linear's default: He-uniform with
//             a = √5), the default: on unit-norm spectra with ivar weights ~1e5 the larger He
//             and Glorot scales start with O(1) outputs and losses ~1e8 per spectrum and train
//             to a 2–6× worse weighted MSE in 30 epochs (bench/RESULTS.md, train section)
enum class InitScheme { Glorot, He, PyTorch };
InitScheme init_scheme_from_string(const std::string& name);
std::vector<float> initial_parameters(const VaeShape& shape, std::uint64_t seed,
                                      InitScheme scheme = InitScheme::PyTorch);

// Training state saved next to the weights.
struct TrainState {
  std::int64_t epoch = 0;          // epochs completed
  std::int64_t step = 0;           // optimiser steps taken
  std::uint64_t seed = 0;          // train.seed (the RNG is counter-based: seed+step is its state)
  double learning_rate = 0;        // current (after plateau reductions)
  double best_val_loss = 0;        // best validation loss so far (+inf before the first epoch)
  std::int64_t best_epoch = 0;     // epoch that reached it
  std::int64_t bad_epochs = 0;     // epochs since the last improvement (plateau schedule)
  // A run stopped inside an epoch (a batch system's signal): the batches of epoch `epoch` done,
  // and that epoch's logged learning rate, then each rank's loss, reconstruction and KL sums so
  // far: [lr, (loss, recon, kl) × ranks]. batch 0: stopped at an epoch's end, the usual case.
  std::int64_t batch = 0;
  std::vector<double> partial;
};

// The fixed affine map between data units and the network's units (model.standardize):
// x' = (x − offset)/scale into the encoder, x̂ = offset + scale·x̂' out of the decoder, with
// the ivar weights carried as w' = w·scale² so that w'(x' − x̂')² = w(x − x̂)²: the loss,
// Eq. 6 and the gradients' meaning are unchanged. offset is the training set's mean
// spectrum and scale the RMS of (x − offset) over it. Folded into the first and last
// layers it is the same function class as the paper's network; kept apart it lets the
// network work on O(1) deviations from the mean instead of ~3% fluxes that must be matched
// to ~0.2% (bench/RESULTS.md, train section). Identity when offset is empty.
struct InputScaling {
  std::vector<float> offset;  // [n_input]; empty = identity
  float scale = 1.0f;

  bool identity() const { return offset.empty() && scale == 1.0f; }
  // rows × n values, in place: x ← (x − offset)/scale and, when w is not null, w ← w·scale².
  // threads: OpenMP threads (0 = OpenMP's default; train passes train.threads).
  void to_model(float* x, float* w, std::int64_t rows, int n, int threads = 0) const;
  // The same map on rows gathered from x_src / w_src (n values per row): output row i is
  // source row src_rows[i]. One pass over the batch instead of a copy and then to_model.
  void gather_to_model(const float* x_src, const float* w_src, std::span<const std::int64_t> src_rows, float* x,
                       float* w, int n, int threads = 0) const;
  // x̂ ← offset + scale·x̂, in place.
  void from_model(float* xhat, std::int64_t rows, int n, int threads = 0) const;
  bool operator==(const InputScaling&) const = default;
};

struct Checkpoint {
  VaeShape shape;
  std::vector<float> params;
  InputScaling scaling;
  std::vector<float> adam_m, adam_v;  // empty in a weights-only checkpoint
  TrainState state;
  std::string config_hash, config_toml, dataset_hash, code_version;
};

// Written to "<path>.tmp" with serial HDF5 and renamed (call on one rank).
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);
// Throws InputError naming the file and what is missing or inconsistent.
Checkpoint load_checkpoint(const std::filesystem::path& path);

// The model for inference. Batches of any size; the workspace grows as needed.
class Vae {
 public:
  Vae(VaeShape shape, std::vector<float> params, std::shared_ptr<Backend> backend, InputScaling scaling = {});
  static Vae from_checkpoint(const std::filesystem::path& path, std::shared_ptr<Backend> backend);

  const VaeShape& shape() const { return shape_; }
  const InputScaling& scaling() const { return scaling_; }
  Backend& backend() const { return *backend_; }
  // Host copy of the flat parameters.
  std::vector<float> parameters() const;
  // Parameters in backend memory.
  const float* device_parameters() const { return params_.data(); }

  // x [batch×n_input] (data units) → mu, logvar [batch×latent]. Host spans.
  void encode(std::span<const float> x, std::int64_t batch, std::span<float> mu, std::span<float> logvar);
  // z [batch×latent] → xhat [batch×n_input] (data units). Host spans.
  void decode(std::span<const float> z, std::int64_t batch, std::span<float> xhat);

 private:
  void ensure_workspace(std::int64_t batch);
  VaeShape shape_;
  InputScaling scaling_;
  std::vector<float> scaled_x_;  // host scratch for the scaled input
  std::vector<LayerShape> layers_;
  std::shared_ptr<Backend> backend_;
  DeviceBuffer params_;
  DeviceBuffer act_a_, act_b_, io_;
  std::int64_t capacity_ = 0;
  int widest_ = 0;
};

}  // namespace specvae::model
