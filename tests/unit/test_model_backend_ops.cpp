// Every CPU-backend op against the reference backend, on shapes that exercise remainders
// (odd sizes, several threads). Tolerances are relative to the reference's magnitude and
// kept here in one place.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "specvae/model/backend.hpp"

using namespace specvae;
using namespace specvae::model;

namespace {
// float ops on O(1) inputs: GEMMs with k ≤ 300 accumulate ≈ √k·2⁻²⁴ relative error.
constexpr double kGemmTol = 2e-5;
constexpr double kElementTol = 1e-6;

std::vector<float> random_vec(std::size_t n, std::uint64_t seed, float lo = -1, float hi = 1) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * rng::uniform(rng::StreamKey{seed, 0, 999}, i / 4096, i % 4096);
  return v;
}

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double scale = 1e-30, diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
  return diff / scale;
}

bool not_all_zero(const std::vector<float>& v) {
  for (float x : v)
    if (x != 0.0f) return true;
  return false;
}

struct Pair {
  std::unique_ptr<Backend> ref = make_backend("reference");
  std::unique_ptr<Backend> cpu = make_backend("cpu", 2);
};
}  // namespace

// A backend says what it is; code asks it instead of comparing names or casting.
TEST(BackendOps, HostBackendsDescribeThemselves) {
  const std::unique_ptr<Backend> ref = make_backend("reference"), cpu = make_backend("cpu", 1);
  EXPECT_EQ(ref->kind(), BackendKind::Reference);
  EXPECT_EQ(cpu->kind(), BackendKind::Cpu);
  for (const Backend* b : {ref.get(), cpu.get()}) {
    EXPECT_EQ(b->device(), -1) << b->name();
    EXPECT_EQ(b->device_stream(), nullptr) << b->name();
    EXPECT_TRUE(b->host_memory()) << b->name();
  }
}

TEST(BackendOps, GemmAllTransposes) {
  for (const char* gemm : {"openblas", "onednn"}) {
  Pair p;
  p.cpu = make_backend("cpu", 2, gemm);
  SCOPED_TRACE(gemm);
  const int m = 37, n = 29, k = 301;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      auto a = random_vec(static_cast<std::size_t>(m) * k, 1), b = random_vec(static_cast<std::size_t>(k) * n, 2);
      auto c_ref = random_vec(static_cast<std::size_t>(m) * n, 3), c_cpu = c_ref;
      const int lda = ta ? m : k, ldb = tb ? k : n;
      p.ref->gemm(ta, tb, m, n, k, 0.7f, a.data(), lda, b.data(), ldb, 0.5f, c_ref.data(), n);
      p.cpu->gemm(ta, tb, m, n, k, 0.7f, a.data(), lda, b.data(), ldb, 0.5f, c_cpu.data(), n);
      EXPECT_LT(max_rel_diff(c_cpu, c_ref), kGemmTol) << "ta=" << ta << " tb=" << tb;
      EXPECT_TRUE(not_all_zero(c_cpu));
    }
  }
}

TEST(BackendOps, LinearForwardBiasReluAndBackward) {
  Pair p;
  const int m = 33, n = 70, k = 45;
  auto x = random_vec(static_cast<std::size_t>(m) * k, 4), w = random_vec(static_cast<std::size_t>(n) * k, 5),
       b = random_vec(n, 6);
  for (Activation act : {Activation::Identity, Activation::Relu}) {
    std::vector<float> y_ref(static_cast<std::size_t>(m) * n), y_cpu(y_ref.size());
    p.ref->linear_forward(x.data(), k, w.data(), b.data(), m, n, k, act, y_ref.data());
    p.cpu->linear_forward(x.data(), k, w.data(), b.data(), m, n, k, act, y_cpu.data());
    EXPECT_LT(max_rel_diff(y_cpu, y_ref), kGemmTol);
    auto dy_ref = random_vec(y_ref.size(), 7), dy_cpu = dy_ref;
    p.ref->activation_backward(dy_ref.data(), y_ref.data(), m, n, act);
    p.cpu->activation_backward(dy_cpu.data(), y_ref.data(), m, n, act);
    EXPECT_EQ(dy_cpu, dy_ref);
    std::vector<float> db_ref(n, 1.0f), db_cpu(n, 1.0f);
    p.ref->bias_grad(dy_ref.data(), m, n, db_ref.data(), true);
    p.cpu->bias_grad(dy_ref.data(), m, n, db_cpu.data(), true);
    EXPECT_LT(max_rel_diff(db_cpu, db_ref), kElementTol);
    EXPECT_TRUE(not_all_zero(db_cpu));
  }
}

TEST(BackendOps, DropoutMatchesAndKeepsTheRightFraction) {
  Pair p;
  const int m = 64, n = 203;
  const std::vector<std::int64_t> ids = [&] {
    std::vector<std::int64_t> v(m);
    for (int i = 0; i < m; ++i) v[i] = 1000 + 7 * i;
    return v;
  }();
  auto y_ref = random_vec(static_cast<std::size_t>(m) * n, 8, 0.5f, 1.0f), y_cpu = y_ref;
  std::vector<float> k_ref(y_ref.size()), k_cpu(y_ref.size());
  const rng::StreamKey key{9, 3, rng::kDropoutBase};
  p.ref->dropout_forward(y_ref.data(), k_ref.data(), m, n, 0.2f, key, ids);
  p.cpu->dropout_forward(y_cpu.data(), k_cpu.data(), m, n, 0.2f, key, ids);
  EXPECT_EQ(y_cpu, y_ref);
  EXPECT_EQ(k_cpu, k_ref);
  std::size_t dropped = 0;
  for (float s : k_cpu) dropped += s == 0.0f;
  EXPECT_NEAR(static_cast<double>(dropped) / k_cpu.size(), 0.2, 0.02);
  {
    // Every word of the counter and key in play: a 64-bit seed, sample ids above 2³², a step.
    std::vector<std::int64_t> big(m);
    for (int i = 0; i < m; ++i) big[i] = (std::int64_t{0x2345} << 32) + 11 * i;
    const rng::StreamKey key2{0x0123456789ABCDEFull, 77777, rng::kDropoutBase + 3};
    auto a = random_vec(static_cast<std::size_t>(m) * n, 9, 0.5f, 1.0f), b = a;
    std::vector<float> ka(a.size()), kb(a.size());
    p.ref->dropout_forward(a.data(), ka.data(), m, n, 0.35f, key2, big);
    p.cpu->dropout_forward(b.data(), kb.data(), m, n, 0.35f, key2, big);
    EXPECT_EQ(kb, ka);
    EXPECT_EQ(b, a);
  }
  auto dy_ref = random_vec(y_ref.size(), 10), dy_cpu = dy_ref;
  p.ref->dropout_backward(dy_ref.data(), k_ref.data(), m, n);
  p.cpu->dropout_backward(dy_cpu.data(), k_ref.data(), m, n);
  EXPECT_EQ(dy_cpu, dy_ref);

  // Dropout and ReLU backward in one pass (the CPU backend's fused kernel) equal the two
  // passes one after the other, on a layer output with ReLU zeros and dropped elements.
  auto out = random_vec(y_ref.size(), 11);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = std::max(out[i], 0.0f) * k_ref[i];
  auto g_ref = random_vec(y_ref.size(), 12), g_cpu = g_ref, g_two = g_ref;
  p.ref->dropout_activation_backward(g_ref.data(), out.data(), k_ref.data(), m, n, Activation::Relu);
  p.cpu->dropout_activation_backward(g_cpu.data(), out.data(), k_ref.data(), m, n, Activation::Relu);
  p.cpu->dropout_backward(g_two.data(), k_ref.data(), m, n);
  p.cpu->activation_backward(g_two.data(), out.data(), m, n, Activation::Relu);
  EXPECT_EQ(g_cpu, g_ref);
  EXPECT_EQ(g_cpu, g_two);
  std::size_t zeros = 0;
  for (float g : g_cpu) zeros += g == 0.0f;
  EXPECT_GT(zeros, g_cpu.size() / 3) << "the ReLU and dropout zeros were not exercised";
}

TEST(BackendOps, ReparameterisationAndKl) {
  Pair p;
  const int m = 21, L = 10;
  std::vector<std::int64_t> ids(m);
  for (int i = 0; i < m; ++i) ids[i] = 5 * i + 3;
  auto mulv = random_vec(static_cast<std::size_t>(m) * 2 * L, 11);
  std::vector<float> eps_r(m * L), z_r(m * L), eps_c(m * L), z_c(m * L);
  const rng::StreamKey key{12, 4, rng::kNoise};
  p.ref->reparameterize(mulv.data(), m, L, key, ids, eps_r.data(), z_r.data());
  p.cpu->reparameterize(mulv.data(), m, L, key, ids, eps_c.data(), z_c.data());
  EXPECT_EQ(eps_c, eps_r);
  EXPECT_LT(max_rel_diff(z_c, z_r), kElementTol);
  std::vector<float> d_r(m * 2 * L), d_c(m * 2 * L), kl_r(m), kl_c(m);
  p.ref->kl_divergence(mulv.data(), m, L, 0.8f, 0.25f, d_r.data(), kl_r.data());
  p.cpu->kl_divergence(mulv.data(), m, L, 0.8f, 0.25f, d_c.data(), kl_c.data());
  EXPECT_LT(max_rel_diff(kl_c, kl_r), kElementTol);
  EXPECT_LT(max_rel_diff(d_c, d_r), kElementTol);
  auto dz = random_vec(static_cast<std::size_t>(m) * L, 13);
  p.ref->reparameterize_backward(dz.data(), mulv.data(), eps_r.data(), m, L, d_r.data());
  p.cpu->reparameterize_backward(dz.data(), mulv.data(), eps_r.data(), m, L, d_c.data());
  EXPECT_LT(max_rel_diff(d_c, d_r), kElementTol);
  // KL of N(μ, σ²) against N(0,1) for one known row: μ=0, log σ²=0 → 0.
  std::vector<float> zero(2 * L, 0.0f), g(2 * L), kl(1);
  p.cpu->kl_divergence(zero.data(), 1, L, 1.0f, 1.0f, g.data(), kl.data());
  EXPECT_EQ(kl[0], 0.0f);
}

TEST(BackendOps, GaussianLossAdamAndSumSquares) {
  Pair p;
  const int m = 17, n = 1000;
  auto x = random_vec(static_cast<std::size_t>(m) * n, 14), xh = random_vec(x.size(), 15),
       w = random_vec(x.size(), 16, 0.0f, 50.0f);
  std::vector<float> d_r(x.size()), d_c(x.size()), l_r(m), l_c(m);
  p.ref->gaussian_loss(x.data(), w.data(), xh.data(), m, n, 0.125f, d_r.data(), l_r.data());
  p.cpu->gaussian_loss(x.data(), w.data(), xh.data(), m, n, 0.125f, d_c.data(), l_c.data());
  EXPECT_LT(max_rel_diff(l_c, l_r), 1e-6);
  EXPECT_LT(max_rel_diff(d_c, d_r), kElementTol);
  // Hand value for one bin: ½·w·(x̂−x)² with w=4, x=1, x̂=3 → 8.
  std::vector<float> one_x{1}, one_w{4}, one_xh{3}, one_d(1), one_l(1);
  p.cpu->gaussian_loss(one_x.data(), one_w.data(), one_xh.data(), 1, 1, 1.0f, one_d.data(), one_l.data());
  EXPECT_EQ(one_l[0], 8.0f);
  EXPECT_EQ(one_d[0], 8.0f);

  const std::size_t np = 100003;
  auto params_r = random_vec(np, 17), grads = random_vec(np, 18), m_r = random_vec(np, 19, 0, 0.01f),
       v_r = random_vec(np, 20, 0, 0.01f);
  auto params_c = params_r, m_c = m_r, v_c = v_r;
  AdamParams ap;
  ap.t = 7;
  p.ref->adam_step(params_r.data(), grads.data(), m_r.data(), v_r.data(), np, ap);
  p.cpu->adam_step(params_c.data(), grads.data(), m_c.data(), v_c.data(), np, ap);
  EXPECT_LT(max_rel_diff(m_c, m_r), kElementTol);
  EXPECT_LT(max_rel_diff(v_c, v_r), kElementTol);
  EXPECT_LT(max_rel_diff(params_c, params_r), kElementTol);
  EXPECT_NEAR(p.cpu->sum_squares(grads.data(), np), p.ref->sum_squares(grads.data(), np), 1e-9 * np);
  grads[np / 2] = std::nanf("");
  EXPECT_FALSE(std::isfinite(p.cpu->sum_squares(grads.data(), np)));
}
