// Forward and backward passes of the VAE on a batch (see vae_graph.hpp). Layer l's output
// (after activation and dropout) stays in acts_[l] for the backward pass; two ping-pong
// buffers carry the upstream gradient.
#include "specvae/model/vae_graph.hpp"

#include <algorithm>
#include <numeric>

#include "specvae/core/error.hpp"

namespace specvae::model {

VaeGraph::VaeGraph(const VaeShape& shape, Backend& backend, int max_rows)
    : shape_(shape), layers_(shape.layers()), be_(backend), max_rows_(std::max(1, max_rows)) {
  int widest = shape.n_input;
  const std::size_t rows = static_cast<std::size_t>(max_rows_);
  for (const auto& l : layers_) {
    widest = std::max(widest, l.n_out);
    acts_.emplace_back(be_, rows * l.n_out);
    keep_.emplace_back(be_, l.dropout ? rows * l.n_out : 0);
  }
  eps_ = DeviceBuffer(be_, rows * shape.latent);
  z_ = DeviceBuffer(be_, rows * shape.latent);
  dmulv_ = DeviceBuffer(be_, rows * 2 * shape.latent);
  grad_a_ = DeviceBuffer(be_, rows * widest);
  grad_b_ = DeviceBuffer(be_, rows * widest);
  recon_ = DeviceBuffer(be_, rows);
  kl_ = DeviceBuffer(be_, rows);
  mse_ = DeviceBuffer(be_, rows);
}

BatchLoss VaeGraph::run(const float* params, const float* x, const float* w, int m,
                        std::span<const std::int64_t> sample_ids, const PassOptions& o, float* grads) {
  SPECVAE_CHECK(m >= 0 && m <= max_rows_, "VaeGraph: {} rows, capacity {}", m, max_rows_);
  SPECVAE_CHECK(sample_ids.size() >= static_cast<std::size_t>(m), "VaeGraph: {} ids for {} rows", sample_ids.size(), m);
  const int L = shape_.latent;
  const int n_enc = shape_.n_encoder_layers();
  const int n_layers = static_cast<int>(layers_.size());
  BatchLoss loss;
  recon_host_.assign(m, 0.0f);
  kl_host_.assign(m, 0.0f);
  mse_host_.assign(o.eq6 ? m : 0, 0.0f);
  // With rows, the backward pass overwrites every gradient slot (each layer's dW by a GEMM
  // with β = 0, its db by bias_grad): only a rank without rows needs the zeros.
  if (m == 0) {
    if (o.training) be_.fill_zero(grads, static_cast<std::size_t>(shape_.n_params()));
    return loss;
  }

  auto forward_layer = [&](int li, const float* in, int ld_in) {
    const LayerShape& l = layers_[li];
    be_.linear_forward(in, ld_in, params + l.w_offset, params + l.b_offset, m, l.n_out, l.n_in, l.activation,
                       acts_[li].data());
    if (o.training && l.dropout)
      be_.dropout_forward(acts_[li].data(), keep_[li].data(), m, l.n_out, shape_.dropout,
                          rng::StreamKey{o.seed, o.step, rng::kDropoutBase + static_cast<std::uint32_t>(li)}, sample_ids);
  };
  auto decode_from = [&](const float* z, int ld_z) {
    const float* in = z;
    int ld = ld_z;
    for (int li = n_enc; li < n_layers; ++li) {
      forward_layer(li, in, ld);
      in = acts_[li].data();
      ld = layers_[li].n_out;
    }
  };

  // Encoder.
  const float* in = x;
  for (int li = 0; li < n_enc; ++li) {
    forward_layer(li, in, li == 0 ? shape_.n_input : layers_[li - 1].n_out);
    in = acts_[li].data();
  }
  const float* mulv = acts_[n_enc - 1].data();
  const float* xhat = acts_[n_layers - 1].data();

  // Paper Eq. 6 at z = μ (no dropout in this branch since it is an evaluation pass).
  if (o.eq6) {
    SPECVAE_CHECK(!o.training, "eq6 is an evaluation-only output");
    decode_from(mulv, 2 * L);
    be_.gaussian_loss(x, w, xhat, m, shape_.n_input, 0.0f, grad_a_.data(), mse_.data());
    be_.download(mse_host_.data(), mse_.data(), m);
    for (int i = 0; i < m; ++i) {
      mse_host_[i] = 2.0f * mse_host_[i] / static_cast<float>(shape_.n_input);
      loss.mse_sum += mse_host_[i];
    }
  }

  // Sampled latent and decoder.
  be_.reparameterize(mulv, m, L, rng::StreamKey{o.seed, o.step, o.noise_purpose}, sample_ids, eps_.data(), z_.data());
  decode_from(z_.data(), L);
  float* d = grad_a_.data();
  float* d_next = grad_b_.data();
  be_.gaussian_loss(x, w, xhat, m, shape_.n_input, o.grad_scale, d, recon_.data());
  be_.kl_divergence(mulv, m, L, o.kl_weight, o.grad_scale, dmulv_.data(), kl_.data());
  // The per-row losses are read back after the backward pass is queued (nothing below
  // writes them): on a GPU the download waits for the stream, and waiting here would leave
  // it idle while the host queues the backward.
  const auto sum_losses = [&] {
    be_.download(recon_host_.data(), recon_.data(), m);
    be_.download(kl_host_.data(), kl_.data(), m);
    for (int i = 0; i < m; ++i) {
      loss.recon_sum += recon_host_[i];
      loss.kl_sum += kl_host_[i];
    }
  };
  if (!o.training) {
    sum_losses();
    return loss;
  }

  // Backward through one layer: d holds dL/d(output); leaves dL/d(input) in d_next when
  // the input gradient is needed.
  auto backward_layer = [&](int li, const float* input, int ld_in, float* dy, float* dx) {
    const LayerShape& l = layers_[li];
    be_.dropout_activation_backward(dy, acts_[li].data(), l.dropout ? keep_[li].data() : nullptr, m, l.n_out,
                                    l.activation);
    // dW[n_out×n_in] = dYᵀ · X ; db = Σ_rows dY ; dX = dY · W.
    be_.gemm(true, false, l.n_out, l.n_in, m, 1.0f, dy, l.n_out, input, ld_in, 0.0f, grads + l.w_offset, l.n_in);
    be_.bias_grad(dy, m, l.n_out, grads + l.b_offset, false);
    if (dx) be_.gemm(false, false, m, l.n_in, l.n_out, 1.0f, dy, l.n_out, params + l.w_offset, l.n_in, 0.0f, dx, l.n_in);
  };

  // Decoder, last layer first; its first layer's input gradient is dL/dz.
  for (int li = n_layers - 1; li >= n_enc; --li) {
    const float* input = li == n_enc ? z_.data() : acts_[li - 1].data();
    backward_layer(li, input, layers_[li].n_in, d, d_next);
    std::swap(d, d_next);
  }
  // dL/d(μ, log σ²) = KL part (already in dmulv_) + reparameterisation part.
  be_.reparameterize_backward(d, mulv, eps_.data(), m, L, dmulv_.data());
  d = dmulv_.data();
  d_next = grad_a_.data();
  for (int li = n_enc - 1; li >= 0; --li) {
    const float* input = li == 0 ? x : acts_[li - 1].data();
    float* dx = li == 0 ? nullptr : d_next;
    backward_layer(li, input, layers_[li].n_in, d, dx);
    d = dx;
    d_next = (d == grad_a_.data()) ? grad_b_.data() : grad_a_.data();
  }
  sum_losses();
  return loss;
}

}  // namespace specvae::model
