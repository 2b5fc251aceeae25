// A whole VAE training step (forward with dropout and noise, −ELBO, backward, Adam) and a
// large-batch evaluation pass on the CUDA backend against the reference backend, through
// the model's own VaeGraph, so the GPU runs exactly what the trainer and scorer run.
#if SPECVAE_HAVE_CUDA
#include <cmath>

#include "backend_parity.hpp"
#include "gpu_test_util.hpp"
#include "op_tolerances.hpp"
#include "reference_backend.hpp"
#include "specvae/gpu/cuda_backend.hpp"
#include "specvae/model/vae_graph.hpp"

using namespace specvae;
using namespace specvae::parity;

namespace {

model::VaeShape small_shape() {
  model::VaeShape s;
  s.n_input = 200;
  s.encoder = {160, 96};
  s.latent = 6;
  s.decoder = {96, 160};
  s.dropout = 0.2f;
  return s;
}

struct StepResult {
  model::BatchLoss loss;
  std::vector<float> grads, params_after, recon;
};

// One training step of `m` rows on backend `be`: the pass, then Adam at step t = 1.
StepResult train_step(model::Backend& be, const model::VaeShape& shape, const std::vector<float>& params,
                      const std::vector<float>& x, const std::vector<float>& w, int m) {
  const std::size_t np = static_cast<std::size_t>(shape.n_params());
  model::DeviceBuffer p(be, np), g(be, np), am(be, np), av(be, np), dx(be, x.size()), dw(be, w.size());
  be.upload(p.data(), params.data(), np);
  be.upload(dx.data(), x.data(), x.size());
  be.upload(dw.data(), w.data(), w.size());
  std::vector<std::int64_t> ids(static_cast<std::size_t>(m));
  for (int i = 0; i < m; ++i) ids[static_cast<std::size_t>(i)] = 3 * i + 11;
  model::VaeGraph graph(shape, be, m);
  model::PassOptions opts;
  opts.seed = 20250617;
  opts.step = 5;
  opts.grad_scale = 1.0f / static_cast<float>(m);
  StepResult r;
  r.loss = graph.run(p.data(), dx.data(), dw.data(), m, ids, opts, g.data());
  r.recon = graph.last_recon();
  r.grads = from_backend(be, g.data(), np);
  model::AdamParams ap;
  ap.t = 1;
  be.adam_step(p.data(), g.data(), am.data(), av.data(), np, ap);
  r.params_after = from_backend(be, p.data(), np);
  return r;
}

void check_step(bool tf32, bool lt_epilogue = false) {
  const auto shape = small_shape();
  const int m = 96;
  const auto params = model::initial_parameters(shape, 7);
  auto x = random_floats(static_cast<std::size_t>(m) * shape.n_input, -0.1f, 0.1f, 30);
  auto w = random_floats(x.size(), 0.0f, 100.0f, 31);
  for (std::size_t i = 0; i < w.size(); i += 17) w[i] = 0;  // masked bins

  model::ReferenceBackend ref;
  auto gpu = gpu::make_cuda_backend(0, tf32, lt_epilogue);
  const StepResult want = train_step(ref, shape, params, x, w, m);
  const StepResult got = train_step(*gpu, shape, params, x, w, m);

  const double loss_rel = tf32 ? tol::kStepLossRelTf32 : tol::kStepLossRel;
  EXPECT_NEAR(got.loss.recon_sum, want.loss.recon_sum, loss_rel * std::abs(want.loss.recon_sum));
  EXPECT_NEAR(got.loss.kl_sum, want.loss.kl_sum, loss_rel * std::abs(want.loss.kl_sum) + 1e-6);
  EXPECT_GT(want.loss.recon_sum, 0);
  EXPECT_TRUE(near_all(got.recon, want.recon, loss_rel, 0));

  ASSERT_TRUE(any_nonzero(want.grads));
  const double grad_rel = rel_norm_diff(got.grads, want.grads);
  EXPECT_LE(grad_rel, tf32 ? tol::kStepGradNormRelTf32 : tol::kStepGradNormRel);
  // Layer by layer too, so a wrong small layer (the latent head) cannot hide in the norm.
  for (const auto& l : shape.layers()) {
    const auto wb = want.grads.begin() + l.w_offset, gb = got.grads.begin() + l.w_offset;
    const std::size_t len = static_cast<std::size_t>(l.n_out) * (l.n_in + 1);
    const std::vector<float> wl(wb, wb + static_cast<std::ptrdiff_t>(len)), gl(gb, gb + static_cast<std::ptrdiff_t>(len));
    if (any_nonzero(wl)) {
      EXPECT_LE(rel_norm_diff(gl, wl), tf32 ? tol::kLayerGradNormRelTf32 : tol::kLayerGradNormRel)
          << "layer " << l.n_in << "→" << l.n_out;
    }
  }

  // Adam at t = 1 moves each weight by ≈ lr·sign(g): equal where the gradient is clearly
  // non-zero; where |g| is near Adam's ε the step is ill-conditioned, so only bounded.
  const float lr = model::AdamParams{}.lr;
  double rms = 0;
  for (float v : want.grads) rms += double(v) * v;
  rms = std::sqrt(rms / double(want.grads.size()));
  int compared = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const double step_want = double(want.params_after[i]) - params[i];
    const double step_got = double(got.params_after[i]) - params[i];
    ASSERT_LE(std::abs(step_got), 1.01 * lr) << "param " << i;
    if (std::abs(want.grads[i]) > (tf32 ? 0.2 : 1e-2) * rms) {
      ++compared;
      ASSERT_NEAR(step_got, step_want, (tf32 ? 0.1 : 1e-3) * lr + 1e-7) << "param " << i;
    }
  }
  EXPECT_GT(compared, static_cast<int>(params.size() / (tf32 ? 10 : 4)));
}
}  // namespace

TEST(CudaTrainingStep, MatchesReferenceInFp32) {
  SPECVAE_REQUIRE_GPU();
  check_step(false);
}

TEST(CudaTrainingStep, MatchesReferenceWithTf32) {
  SPECVAE_REQUIRE_GPU();
  check_step(true);
}

// Scoring runs the evaluation pass on very large batches: rows beyond the 65535 grid limit
// of a launch dimension, and the paper's Eq. 6 MSE at z = μ.
// The same step with each layer's forward by cuBLASLt's bias/ReLU epilogue
// (train.cuda_epilogue = "cublaslt"), within the fp32 tolerances.
TEST(CudaTrainingStep, MatchesReferenceWithTheCublasLtEpilogue) {
  SPECVAE_REQUIRE_GPU();
  check_step(false, true);
}

TEST(CudaTrainingStep, LargeBatchEvaluationMatchesReference) {
  SPECVAE_REQUIRE_GPU();
  model::VaeShape shape;
  shape.n_input = 24;
  shape.encoder = {16};
  shape.latent = 3;
  shape.decoder = {16};
  const int m = 70001;
  const auto params = model::initial_parameters(shape, 9);
  auto x = random_floats(static_cast<std::size_t>(m) * shape.n_input, -1.0f, 1.0f, 40);
  auto w = random_floats(x.size(), 0.5f, 2.0f, 41);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(m));
  for (int i = 0; i < m; ++i) ids[static_cast<std::size_t>(i)] = i;

  auto eval = [&](model::Backend& be, std::vector<float>& mse, std::vector<float>& recon) {
    model::DeviceBuffer p(be, params.size()), dx(be, x.size()), dw(be, w.size());
    be.upload(p.data(), params.data(), params.size());
    be.upload(dx.data(), x.data(), x.size());
    be.upload(dw.data(), w.data(), w.size());
    model::VaeGraph graph(shape, be, m);
    model::PassOptions opts;
    opts.training = false;
    opts.eq6 = true;
    opts.noise_purpose = rng::kValNoise;
    auto loss = graph.run(p.data(), dx.data(), dw.data(), m, ids, opts, nullptr);
    mse = graph.last_mse();
    recon = graph.last_recon();
    return loss;
  };
  model::ReferenceBackend ref;
  auto gpu = gpu::make_cuda_backend(0, false);
  std::vector<float> mse_ref, recon_ref, mse_gpu, recon_gpu;
  const auto want = eval(ref, mse_ref, recon_ref);
  const auto got = eval(*gpu, mse_gpu, recon_gpu);
  EXPECT_NEAR(got.mse_sum, want.mse_sum, tol::kStepLossRel * want.mse_sum);
  EXPECT_NEAR(got.recon_sum, want.recon_sum, tol::kStepLossRel * want.recon_sum);
  // Per row (the last rows are the ones a clamped grid would miss).
  EXPECT_TRUE(near_all(mse_gpu, mse_ref, tol::kStepLossRel, 1e-7));
  EXPECT_TRUE(near_all(recon_gpu, recon_ref, tol::kStepLossRel, 1e-6));
  EXPECT_GT(mse_gpu.back(), 0.0f);
}
#else
#include "gpu_test_util.hpp"
TEST(CudaTrainingStep, NeedsCudaBuild) { GTEST_SKIP() << "specvae was built without CUDA"; }
#endif
