// The VAE's full gradient (every parameter, through dropout, the reparameterisation and
// both loss terms) against central finite differences of the loss, on a small model with
// the reference backend. Randomness is keyed by (seed, step, sample), so the perturbed
// passes see the same dropout masks and noise as the analytic one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "specvae/model/vae_graph.hpp"

using namespace specvae;
using namespace specvae::model;

namespace {
VaeShape small_shape() {
  VaeShape s;
  s.n_input = 8;
  s.encoder = {7, 6};
  s.latent = 3;
  s.decoder = {5};
  s.dropout = 0.2f;
  return s;
}
}  // namespace

// The loss in double precision, written out independently of the backends: the same layers,
// the same dropout masks and noise (drawn from the same counter-based streams).
double loss_in_double(const VaeShape& shape, const std::vector<double>& p, const std::vector<float>& x,
                      const std::vector<float>& w, const std::vector<std::int64_t>& ids, std::uint64_t seed,
                      std::uint32_t step, double kl_weight) {
  const auto layers = shape.layers();
  const int n_enc = shape.n_encoder_layers(), L = shape.latent;
  double total = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::vector<double> h(x.begin() + i * shape.n_input, x.begin() + (i + 1) * shape.n_input);
    auto layer = [&](int li, const std::vector<double>& in) {
      const LayerShape& l = layers[li];
      std::vector<double> out(l.n_out);
      for (int o = 0; o < l.n_out; ++o) {
        double a = p[l.b_offset + o];
        for (int k = 0; k < l.n_in; ++k) a += p[l.w_offset + static_cast<std::int64_t>(o) * l.n_in + k] * in[k];
        if (l.activation == Activation::Relu) a = std::max(a, 0.0);
        if (l.dropout) {
          const rng::StreamKey key{seed, step, rng::kDropoutBase + static_cast<std::uint32_t>(li)};
          const auto b = rng::block(key, static_cast<std::uint64_t>(ids[i]), static_cast<std::uint32_t>(o) >> 3);
          a = rng::bits16(b, static_cast<std::uint32_t>(o)) >= rng::dropout_threshold(shape.dropout) ? a / (1.0 - shape.dropout) : 0.0;
        }
        out[o] = a;
      }
      return out;
    };
    for (int li = 0; li < n_enc; ++li) h = layer(li, h);
    std::vector<double> z(L);
    double kl = 0;
    for (int j = 0; j < L; ++j) {
      const double mu = h[j], lv = h[L + j];
      const double e = rng::normal(rng::StreamKey{seed, step, rng::kNoise}, static_cast<std::uint64_t>(ids[i]), static_cast<std::uint32_t>(j));
      z[j] = mu + std::exp(0.5 * lv) * e;
      kl += -0.5 * (1 + lv - mu * mu - std::exp(lv));
    }
    h = z;
    for (int li = n_enc; li < static_cast<int>(layers.size()); ++li) h = layer(li, h);
    double recon = 0;
    for (int j = 0; j < shape.n_input; ++j) {
      const double r = h[j] - x[i * shape.n_input + j];
      recon += 0.5 * w[i * shape.n_input + j] * r * r;
    }
    total += recon + kl_weight * kl;
  }
  return total / static_cast<double>(ids.size());
}

TEST(VaeGradient, MatchesCentralFiniteDifferences) {
  const VaeShape shape = small_shape();
  auto backend = make_backend("reference");
  const int m = 6;
  VaeGraph graph(shape, *backend, m);
  std::vector<float> params = initial_parameters(shape, 3);
  // Biases non-zero so their gradients are exercised away from a symmetric start.
  for (const auto& l : shape.layers())
    for (int j = 0; j < l.n_out; ++j) params[l.b_offset + j] = 0.05f * static_cast<float>((j % 5) - 2);
  std::vector<float> x(m * shape.n_input), w(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = std::sin(0.7f * static_cast<float>(i));
    w[i] = (i % 11 == 0) ? 0.0f : 1.0f + static_cast<float>(i % 3);  // some masked bins
  }
  const std::vector<std::int64_t> ids{3, 17, 4, 99, 250, 8};
  PassOptions o;
  o.seed = 11;
  o.step = 5;
  o.kl_weight = 0.7f;
  o.grad_scale = 1.0f / m;
  // NaN to start with: the pass must write every gradient slot (the training loop does not
  // clear the buffer between steps).
  std::vector<float> grad(params.size(), std::numeric_limits<float>::quiet_NaN());
  const BatchLoss base = graph.run(params.data(), x.data(), w.data(), m, ids, o, grad.data());
  ASSERT_GT(base.recon_sum, 0.0);
  ASSERT_GT(base.kl_sum, 0.0);
  const std::vector<double> pd(params.begin(), params.end());
  const double loss = loss_in_double(shape, pd, x, w, ids, o.seed, o.step, o.kl_weight);
  EXPECT_NEAR((base.recon_sum + o.kl_weight * base.kl_sum) / m, loss, 1e-5 * loss);
  double gmax = 0;
  for (float g : grad) gmax = std::max(gmax, std::abs(static_cast<double>(g)));
  int nonzero = 0;
  double worst = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    // Central differences in double: truncation O(h²) and rounding O(ε/h) both ≈ 1e-10 here.
    const double h = 1e-5;
    std::vector<double> plus = pd, minus = pd;
    plus[i] += h;
    minus[i] -= h;
    const double fd = (loss_in_double(shape, plus, x, w, ids, o.seed, o.step, o.kl_weight) -
                       loss_in_double(shape, minus, x, w, ids, o.seed, o.step, o.kl_weight)) / (2 * h);
    // The analytic gradient is computed in float: allow float rounding of the largest terms.
    const double err = std::abs(fd - grad[i]) / (1e-4 * gmax + std::abs(fd));
    worst = std::max(worst, err);
    EXPECT_LT(err, 1e-3) << "parameter " << i << ": analytic " << grad[i] << ", finite difference " << fd;
    nonzero += grad[i] != 0.0f;
  }
  EXPECT_GT(nonzero, static_cast<int>(params.size()) / 2);
  RecordProperty("worst_relative_error", std::to_string(worst));
}

TEST(VaeGradient, EvaluationPassHasNoDropoutAndMatchesInference) {
  const VaeShape shape = small_shape();
  std::shared_ptr<Backend> backend = make_backend("cpu", 1);
  const std::vector<float> params = initial_parameters(shape, 5);
  Vae vae(shape, params, backend);
  const int m = 4;
  std::vector<float> x(m * shape.n_input);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.3f * static_cast<float>(i));
  std::vector<float> mu(m * shape.latent), lv(mu.size()), xhat(x.size());
  vae.encode(x, m, mu, lv);
  vae.decode(mu, m, xhat);
  // Eq. 6 from the graph (x̂ = decoder(μ)) equals the weighted MSE computed from inference.
  std::vector<float> w(x.size(), 2.0f);
  VaeGraph graph(shape, *backend, m);
  PassOptions o;
  o.training = false;
  o.eq6 = true;
  const std::vector<std::int64_t> ids{0, 1, 2, 3};
  graph.run(vae.device_parameters(), x.data(), w.data(), m, ids, o, nullptr);
  for (int i = 0; i < m; ++i) {
    double mse = 0;
    for (int j = 0; j < shape.n_input; ++j) {
      const double r = xhat[i * shape.n_input + j] - x[i * shape.n_input + j];
      mse += 2.0 * r * r / shape.n_input;
    }
    EXPECT_NEAR(graph.last_mse()[i], mse, 1e-5 * (1 + mse));
  }
}
