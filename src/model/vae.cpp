// Inference with the VAE on any backend: encode a batch to (μ, log σ²), decode latent
// vectors to spectra. Dropout is off; the workspace is reused across calls.
#include "specvae/model/vae.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "isa_clones.hpp"
#include "specvae/core/error.hpp"

namespace specvae::model {

namespace {
// x_out ← (x_in − o)·inv and, with w, w_out ← w_in·w_factor, for one row (o may be null;
// in and out may be the same row).
SPECVAE_ISA_CLONES void row_to_model(const float* x_in, const float* w_in, const float* o, float inv, float w_factor,
                                     float* x_out, float* w_out, int n) {
  if (o) {
#pragma omp simd
    for (int j = 0; j < n; ++j) x_out[j] = (x_in[j] - o[j]) * inv;
  } else {
#pragma omp simd
    for (int j = 0; j < n; ++j) x_out[j] = x_in[j] * inv;
  }
  if (w_out) {
#pragma omp simd
    for (int j = 0; j < n; ++j) w_out[j] = w_in[j] * w_factor;
  }
}

SPECVAE_ISA_CLONES void row_from_model(float* x, const float* o, float scale, int n) {
  if (o) {
#pragma omp simd
    for (int j = 0; j < n; ++j) x[j] = o[j] + scale * x[j];
  } else {
#pragma omp simd
    for (int j = 0; j < n; ++j) x[j] = scale * x[j];
  }
}

int threads_or_default(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }
}  // namespace

void InputScaling::to_model(float* x, float* w, std::int64_t rows, int n, int threads) const {
  if (identity()) return;
  const float inv = 1.0f / scale, w_factor = scale * scale;
  const float* o = offset.empty() ? nullptr : offset.data();
  const std::size_t nb = static_cast<std::size_t>(n);
#pragma omp parallel for num_threads(threads_or_default(threads)) schedule(static)
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::size_t off = static_cast<std::size_t>(i) * nb;
    row_to_model(x + off, w ? w + off : nullptr, o, inv, w_factor, x + off, w ? w + off : nullptr, n);
  }
}

void InputScaling::gather_to_model(const float* x_src, const float* w_src, std::span<const std::int64_t> src_rows,
                                   float* x, float* w, int n, int threads) const {
  const float inv = 1.0f / scale, w_factor = scale * scale;
  const float* o = offset.empty() ? nullptr : offset.data();
  const bool same = identity();
  const auto rows = static_cast<std::int64_t>(src_rows.size());
  const std::size_t nb = static_cast<std::size_t>(n);
#pragma omp parallel for num_threads(threads_or_default(threads)) schedule(static)
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::size_t src = static_cast<std::size_t>(src_rows[static_cast<std::size_t>(i)]) * nb;
    const std::size_t dst = static_cast<std::size_t>(i) * nb;
    if (same) {
      std::copy_n(x_src + src, nb, x + dst);
      std::copy_n(w_src + src, nb, w + dst);
    } else {
      row_to_model(x_src + src, w_src + src, o, inv, w_factor, x + dst, w + dst, n);
    }
  }
}

void InputScaling::from_model(float* xhat, std::int64_t rows, int n, int threads) const {
  if (identity()) return;
  const float* o = offset.empty() ? nullptr : offset.data();
#pragma omp parallel for num_threads(threads_or_default(threads)) schedule(static)
  for (std::int64_t i = 0; i < rows; ++i) row_from_model(xhat + static_cast<std::size_t>(i) * n, o, scale, n);
}

Vae::Vae(VaeShape shape, std::vector<float> params, std::shared_ptr<Backend> backend, InputScaling scaling)
    : shape_(std::move(shape)), scaling_(std::move(scaling)), layers_(shape_.layers()), backend_(std::move(backend)) {
  SPECVAE_CHECK(backend_ != nullptr, "Vae needs a backend");
  if (!scaling_.offset.empty() && static_cast<int>(scaling_.offset.size()) != shape_.n_input)
    throw InputError(fmt::format("model {}: input offset has {} values, expected {}", shape_.describe(),
                                 scaling_.offset.size(), shape_.n_input));
  if (!(scaling_.scale > 0.0f) || !std::isfinite(scaling_.scale))
    throw InputError(fmt::format("model {}: input scale {} is not a positive number", shape_.describe(), scaling_.scale));
  if (static_cast<std::int64_t>(params.size()) != shape_.n_params())
    throw InputError(fmt::format("model {} needs {} parameters, got {}", shape_.describe(), shape_.n_params(),
                                 params.size()));
  params_ = DeviceBuffer(*backend_, params.size());
  backend_->upload(params_.data(), params.data(), params.size());
  for (const auto& l : layers_) widest_ = std::max({widest_, l.n_in, l.n_out});
}

Vae Vae::from_checkpoint(const std::filesystem::path& path, std::shared_ptr<Backend> backend) {
  Checkpoint c = load_checkpoint(path);
  return Vae(c.shape, std::move(c.params), std::move(backend), std::move(c.scaling));
}

std::vector<float> Vae::parameters() const {
  std::vector<float> host(params_.size());
  backend_->download(host.data(), params_.data(), host.size());
  return host;
}

void Vae::ensure_workspace(std::int64_t batch) {
  if (batch <= capacity_) return;
  const std::size_t n = static_cast<std::size_t>(batch) * widest_;
  act_a_ = DeviceBuffer(*backend_, n);
  act_b_ = DeviceBuffer(*backend_, n);
  io_ = DeviceBuffer(*backend_, n);
  capacity_ = batch;
}

void Vae::encode(std::span<const float> x, std::int64_t batch, std::span<float> mu, std::span<float> logvar) {
  const int L = shape_.latent;
  SPECVAE_CHECK(x.size() >= static_cast<std::size_t>(batch) * shape_.n_input && mu.size() >= static_cast<std::size_t>(batch) * L &&
                    logvar.size() >= static_cast<std::size_t>(batch) * L,
                "encode: spans too small for batch {}", batch);
  if (batch == 0) return;
  ensure_workspace(batch);
  const int m = static_cast<int>(batch);
  const std::size_t nx = static_cast<std::size_t>(batch) * shape_.n_input;
  if (scaling_.identity()) {
    backend_->upload(io_.data(), x.data(), nx);
  } else {
    scaled_x_.assign(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(nx));
    scaling_.to_model(scaled_x_.data(), nullptr, batch, shape_.n_input);
    backend_->upload(io_.data(), scaled_x_.data(), nx);
  }
  const float* in = io_.data();
  float* bufs[2] = {act_a_.data(), act_b_.data()};
  const float* p = params_.data();
  for (int li = 0; li < shape_.n_encoder_layers(); ++li) {
    const LayerShape& l = layers_[li];
    float* out = bufs[li % 2];
    backend_->linear_forward(in, l.n_in, p + l.w_offset, p + l.b_offset, m, l.n_out, l.n_in, l.activation, out);
    in = out;
  }
  std::vector<float> head(static_cast<std::size_t>(m) * 2 * L);
  backend_->download(head.data(), in, head.size());
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < L; ++j) {
      mu[static_cast<std::size_t>(i) * L + j] = head[static_cast<std::size_t>(i) * 2 * L + j];
      logvar[static_cast<std::size_t>(i) * L + j] = head[static_cast<std::size_t>(i) * 2 * L + L + j];
    }
}

void Vae::decode(std::span<const float> z, std::int64_t batch, std::span<float> xhat) {
  SPECVAE_CHECK(z.size() >= static_cast<std::size_t>(batch) * shape_.latent &&
                    xhat.size() >= static_cast<std::size_t>(batch) * shape_.n_input,
                "decode: spans too small for batch {}", batch);
  if (batch == 0) return;
  ensure_workspace(batch);
  const int m = static_cast<int>(batch);
  backend_->upload(io_.data(), z.data(), static_cast<std::size_t>(batch) * shape_.latent);
  const float* in = io_.data();
  float* bufs[2] = {act_a_.data(), act_b_.data()};
  const float* p = params_.data();
  for (std::size_t li = static_cast<std::size_t>(shape_.n_encoder_layers()); li < layers_.size(); ++li) {
    const LayerShape& l = layers_[li];
    float* out = bufs[li % 2];
    backend_->linear_forward(in, l.n_in, p + l.w_offset, p + l.b_offset, m, l.n_out, l.n_in, l.activation, out);
    in = out;
  }
  backend_->download(xhat.data(), in, static_cast<std::size_t>(batch) * shape_.n_input);
  scaling_.from_model(xhat.data(), batch, shape_.n_input);
}

}  // namespace specvae::model
