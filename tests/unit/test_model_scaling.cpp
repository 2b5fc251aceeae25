// The model's input scaling (model.standardize): an exact round trip, the same function as
// the paper's network with the map folded into its first and last layers, saved with the
// checkpoint, and fitted by the trainer to the training rows of all ranks.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <mutex>
#include <unistd.h>

#include "specvae/core/error.hpp"
#include "specvae/dist/communicator.hpp"
#include "specvae/model/vae.hpp"
#include "specvae/train/trainer.hpp"
#include "test_train_data.hpp"

using namespace specvae;
using namespace specvae::model;

namespace {
VaeShape small_shape() {
  VaeShape s;
  s.n_input = 9;
  s.encoder = {7, 6};
  s.latent = 3;
  s.decoder = {5};
  s.dropout = 0.2f;
  return s;
}

InputScaling some_scaling(int n) {
  InputScaling s;
  for (int j = 0; j < n; ++j) s.offset.push_back(0.03f + 0.01f * std::sin(0.7f * static_cast<float>(j)));
  s.scale = 0.0075f;
  return s;
}
}  // namespace

TEST(InputScaling, RoundTripsAndCarriesTheWeights) {
  const int n = 9, rows = 3;
  const InputScaling s = some_scaling(n);
  std::vector<float> x(rows * n), w(rows * n);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = 0.02f + 0.001f * static_cast<float>(i);
    w[i] = i % 4 == 0 ? 0.0f : 3.0e5f + static_cast<float>(i);
  }
  std::vector<float> y = x, v = w;
  s.to_model(y.data(), v.data(), rows, n);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float o = s.offset[i % n];
    EXPECT_NEAR(y[i], (x[i] - o) / s.scale, 1e-5f * (1.0f + std::abs(y[i])));
    // The weighted squared residual is unchanged: w'(x' − x̂')² = w(x − x̂)² for x̂ = x + δ.
    const double delta = 1e-3, lhs = v[i] * std::pow(delta / s.scale, 2), rhs = w[i] * delta * delta;
    EXPECT_NEAR(lhs, rhs, 1e-5 * (1 + rhs));
  }
  s.from_model(y.data(), rows, n);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i], 1e-7f);
  // Identity leaves data alone.
  std::vector<float> z = x;
  InputScaling{}.to_model(z.data(), nullptr, rows, n);
  EXPECT_EQ(z, x);

  // Gathering rows (2, 0, 2) and mapping them in one pass equals copying them, then to_model;
  // with the identity, it is the copy.
  const std::vector<std::int64_t> pick{2, 0, 2};
  std::vector<float> gx(pick.size() * n), gw(gx.size()), cx, cw;
  for (auto r : pick) {
    cx.insert(cx.end(), x.begin() + r * n, x.begin() + (r + 1) * n);
    cw.insert(cw.end(), w.begin() + r * n, w.begin() + (r + 1) * n);
  }
  InputScaling{}.gather_to_model(x.data(), w.data(), pick, gx.data(), gw.data(), n);
  EXPECT_EQ(gx, cx);
  EXPECT_EQ(gw, cw);
  s.gather_to_model(x.data(), w.data(), pick, gx.data(), gw.data(), n, 2);
  s.to_model(cx.data(), cw.data(), static_cast<std::int64_t>(pick.size()), n);
  EXPECT_EQ(gx, cx);
  EXPECT_EQ(gw, cw);
}

TEST(InputScaling, IsThePapersNetworkWithFoldedFirstAndLastLayers) {
  // encode/decode with the scaling equal encode/decode of the same network whose first layer
  // takes W/s, b − W·o/s and whose output layer gives s·W, s·b + o: same function class.
  const VaeShape shape = small_shape();
  const InputScaling s = some_scaling(shape.n_input);
  const std::vector<float> params = initial_parameters(shape, 11);
  std::vector<float> folded = params;
  const std::vector<LayerShape> layers = shape.layers();
  const LayerShape& first = layers.front();
  for (int o = 0; o < first.n_out; ++o) {
    double shift = 0;
    for (int i = 0; i < first.n_in; ++i) {
      const std::size_t k = static_cast<std::size_t>(first.w_offset) + static_cast<std::size_t>(o) * first.n_in + i;
      shift += static_cast<double>(params[k]) * s.offset[static_cast<std::size_t>(i)] / s.scale;
      folded[k] = params[k] / s.scale;
    }
    folded[static_cast<std::size_t>(first.b_offset + o)] = static_cast<float>(params[static_cast<std::size_t>(first.b_offset + o)] - shift);
  }
  const LayerShape& last = layers.back();
  for (int o = 0; o < last.n_out; ++o) {
    for (int i = 0; i < last.n_in; ++i) {
      const std::size_t k = static_cast<std::size_t>(last.w_offset) + static_cast<std::size_t>(o) * last.n_in + i;
      folded[k] = params[k] * s.scale;
    }
    const std::size_t b = static_cast<std::size_t>(last.b_offset + o);
    folded[b] = params[b] * s.scale + s.offset[static_cast<std::size_t>(o)];
  }
  std::shared_ptr<Backend> backend = make_backend("reference");
  Vae scaled(shape, params, backend, s), plain(shape, folded, backend);
  const int m = 4;
  std::vector<float> x(static_cast<std::size_t>(m) * shape.n_input);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.03f + 0.01f * std::cos(0.37f * static_cast<float>(i));
  std::vector<float> mu_a(m * shape.latent), lv_a(mu_a.size()), mu_b(mu_a.size()), lv_b(mu_a.size());
  scaled.encode(x, m, mu_a, lv_a);
  plain.encode(x, m, mu_b, lv_b);
  for (std::size_t i = 0; i < mu_a.size(); ++i) {
    EXPECT_NEAR(mu_a[i], mu_b[i], 1e-4f * (1 + std::abs(mu_b[i])));
    EXPECT_NEAR(lv_a[i], lv_b[i], 1e-4f * (1 + std::abs(lv_b[i])));
  }
  std::vector<float> xa(x.size()), xb(x.size());
  scaled.decode(mu_a, m, xa);
  plain.decode(mu_a, m, xb);
  for (std::size_t i = 0; i < xa.size(); ++i) EXPECT_NEAR(xa[i], xb[i], 1e-6f);
}

TEST(InputScaling, SavedWithTheCheckpointAndAbsentMeansIdentity) {
  const auto dir = std::filesystem::temp_directory_path() / ("specvae_test_scaling_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Checkpoint c;
  c.shape = small_shape();
  c.params = initial_parameters(c.shape, 3);
  c.scaling = some_scaling(c.shape.n_input);
  save_checkpoint(dir / "s.h5", c);
  EXPECT_EQ(load_checkpoint(dir / "s.h5").scaling, c.scaling);
  EXPECT_EQ(Vae::from_checkpoint(dir / "s.h5", make_backend("reference")).scaling(), c.scaling);
  c.scaling = {};
  save_checkpoint(dir / "i.h5", c);
  EXPECT_TRUE(load_checkpoint(dir / "i.h5").scaling.identity());
  // A wrong-sized offset is refused.
  EXPECT_THROW(Vae(c.shape, c.params, make_backend("reference"), some_scaling(4)), InputError);
  std::filesystem::remove_all(dir);
}

TEST(InputScaling, TrainerFitsTheMeanAndScaleOverAllRanks) {
  Config config = test::small_train_config(1);
  const std::int64_t n = 131;
  // Reference: mean and RMS deviation of the training rows (split == 0), in double.
  const DatasetRows all = test::synthetic_rows(0, n, 16);
  std::vector<double> mean(16, 0.0);
  std::int64_t nt = 0;
  for (std::int64_t r = 0; r < n; ++r)
    if (all.split[static_cast<std::size_t>(r)] == 0) {
      ++nt;
      for (int j = 0; j < 16; ++j) mean[static_cast<std::size_t>(j)] += all.flux[static_cast<std::size_t>(r) * 16 + j];
    }
  for (double& v : mean) v /= static_cast<double>(nt);
  double ss = 0;
  for (std::int64_t r = 0; r < n; ++r)
    if (all.split[static_cast<std::size_t>(r)] == 0)
      for (int j = 0; j < 16; ++j) ss += std::pow(all.flux[static_cast<std::size_t>(r) * 16 + j] - mean[static_cast<std::size_t>(j)], 2);
  const double rms = std::sqrt(ss / (static_cast<double>(nt) * 16));

  for (int ranks : {1, 2, 3}) {
    InputScaling got;
    std::mutex mu;
    run_in_process(ranks, [&](Communicator& comm) {
      // Rows split evenly over the first ranks; with more than one rank the last owns none.
      const int owners = ranks == 1 ? 1 : ranks - 1;
      const int r = comm.rank();
      const std::int64_t begin = r < owners ? n * r / owners : n, end = r < owners ? n * (r + 1) / owners : n;
      const DatasetRows rows = test::synthetic_rows(begin, end - begin, 16);
      train::Trainer trainer(config, comm, rows, nullptr);
      std::lock_guard lock(mu);
      if (comm.rank() == 0) got = trainer.scaling();
    });
    ASSERT_EQ(got.offset.size(), 16u) << ranks << " ranks";
    for (int j = 0; j < 16; ++j) EXPECT_NEAR(got.offset[static_cast<std::size_t>(j)], mean[static_cast<std::size_t>(j)], 1e-7) << ranks;
    EXPECT_NEAR(got.scale, rms, 1e-6 * rms) << ranks;
  }
  config.set("model.standardize=false");
  run_in_process(1, [&](Communicator& comm) {
    train::Trainer trainer(config, comm, test::synthetic_rows(0, n, 16), nullptr);
    EXPECT_TRUE(trainer.scaling().identity());
  });
}
