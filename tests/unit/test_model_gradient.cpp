// The VAE's full gradient (every parameter, through dropout, the reparameterisation and
// both loss terms) against central finite differences of the loss, on a small model with
// the reference backend. Randomness is keyed by (seed, step, sample), so the perturbed
// passes see the same dropout masks and noise as the analytic one.
#include <gtest/gtest.h>

#include <cmath>

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
  auto loss_at = [&](const std::vector<float>& p) {
    std::vector<float> g(p.size());
    const BatchLoss b = graph.run(p.data(), x.data(), w.data(), m, ids, o, g.data());
    return (b.recon_sum + o.kl_weight * b.kl_sum) / m;
  };
  std::vector<float> grad(params.size());
  const BatchLoss base = graph.run(params.data(), x.data(), w.data(), m, ids, o, grad.data());
  ASSERT_GT(base.recon_sum, 0.0);
  ASSERT_GT(base.kl_sum, 0.0);
  int checked = 0, nonzero = 0;
  double worst = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const float h = 1e-3f;
    std::vector<float> plus = params, minus = params;
    plus[i] += h;
    minus[i] -= h;
    const double fd = (loss_at(plus) - loss_at(minus)) / (static_cast<double>(plus[i]) - minus[i]);
    const double err = std::abs(fd - grad[i]) / (2e-3 + std::abs(fd));
    worst = std::max(worst, err);
    EXPECT_LT(err, 2e-2) << "parameter " << i << ": analytic " << grad[i] << ", finite difference " << fd;
    ++checked;
    nonzero += grad[i] != 0.0f;
  }
  EXPECT_EQ(checked, static_cast<int>(shape.n_params()));
  EXPECT_GT(nonzero, checked / 2);
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
