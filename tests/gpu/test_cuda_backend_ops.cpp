// Every CudaBackend op against the reference backend (plain loops, double sums) on the same
// inputs, with the tolerances of gpu_tolerances.hpp. Skips visibly without a GPU.
#if SPECVAE_HAVE_CUDA
#include <cmath>
#include <limits>
#include <numeric>

#include "gpu_parity_util.hpp"
#include "gpu_test_util.hpp"
#include "gpu_tolerances.hpp"
#include "reference_backend.hpp"
#include "specvae/gpu/cuda_backend.hpp"

using namespace specvae;
using namespace specvae::gpu_test;
using model::Activation;

namespace {

// Every launch in this binary is synchronised and checked (runtime.cuda_debug_sync), so a
// faulting kernel is reported at its own launch rather than at a later copy.
const bool kDebugSync = [] {
  set_cuda_debug_sync(true);
  return true;
}();

struct Pair {
  explicit Pair(bool lt_epilogue = false) : gpu(gpu::make_cuda_backend(0, false, lt_epilogue)) {}
  model::ReferenceBackend ref;
  std::unique_ptr<model::Backend> gpu;
};

std::vector<std::int64_t> ids_from(std::int64_t first, int m) {
  std::vector<std::int64_t> ids(static_cast<std::size_t>(m));
  // Not consecutive, and above 2^32: exercises the high word of the sample counter.
  for (int i = 0; i < m; ++i) ids[static_cast<std::size_t>(i)] = first + 7 * i + (std::int64_t{1} << 33);
  return ids;
}

// Runs gemm on both backends; b/c shapes follow the row-major convention of Backend::gemm.
void check_gemm(Pair& p, bool ta, bool tb, int m, int n, int k, float alpha, float beta, bool integers, int pad) {
  const int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
  const std::size_t a_n = static_cast<std::size_t>(ta ? k : m) * lda, b_n = static_cast<std::size_t>(tb ? n : k) * ldb,
                    c_n = static_cast<std::size_t>(m) * ldc;
  auto a = integers ? small_ints(a_n, -4, 4, 1) : random_floats(a_n, -1, 1, 1);
  auto b = integers ? small_ints(b_n, -4, 4, 2) : random_floats(b_n, -1, 1, 2);
  auto c = integers ? small_ints(c_n, -4, 4, 3) : random_floats(c_n, -1, 1, 3);
  auto c_ref = c;
  p.ref.gemm(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c_ref.data(), ldc);
  float* da = to_backend(*p.gpu, a);
  float* db = to_backend(*p.gpu, b);
  float* dc = to_backend(*p.gpu, c);
  p.gpu->gemm(ta, tb, m, n, k, alpha, da, lda, db, ldb, beta, dc, ldc);
  auto c_gpu = from_backend(*p.gpu, dc, c_n);
  ASSERT_TRUE(any_nonzero(c_ref));
  if (integers) {
    EXPECT_TRUE(near_all(c_gpu, c_ref, 0, 0)) << "ta " << ta << " tb " << tb;
  } else {
    // Bound per element: γ_k (Σ_p |α a b| + |β c|), taken at its largest over the matrix.
    double scale = 0;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double s = std::abs(beta * c[static_cast<std::size_t>(i) * ldc + j]);
        for (int q = 0; q < k; ++q) {
          const float av = ta ? a[static_cast<std::size_t>(q) * lda + i] : a[static_cast<std::size_t>(i) * lda + q];
          const float bv = tb ? b[static_cast<std::size_t>(j) * ldb + q] : b[static_cast<std::size_t>(q) * ldb + j];
          s += std::abs(alpha * av * bv);
        }
        scale = std::max(scale, s);
      }
    EXPECT_TRUE(near_all(c_gpu, c_ref, 0, tol::gemm_bound(k) * scale)) << "ta " << ta << " tb " << tb;
  }
  p.gpu->release(da);
  p.gpu->release(db);
  p.gpu->release(dc);
}
}  // namespace

TEST(CudaBackendOps, GemmAllTranspositionsExactOnSmallIntegers) {
  SPECVAE_REQUIRE_GPU();
  Pair p;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) check_gemm(p, ta, tb, 37, 53, 29, 1.0f, 0.0f, true, 0);
  // alpha, beta and leading dimensions wider than the rows (sub-matrices).
  for (bool ta : {false, true})
    for (bool tb : {false, true}) check_gemm(p, ta, tb, 19, 23, 31, 2.0f, -1.0f, true, 3);
}

TEST(CudaBackendOps, GemmRandomWithinFloatBound) {
  SPECVAE_REQUIRE_GPU();
  Pair p;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) check_gemm(p, ta, tb, 64, 300, 1000, 1.0f, 0.5f, false, 0);
}

// Both layer-forward paths (SGEMM + bias/ReLU kernel, and cuBLASLt's bias/ReLU epilogue),
// with x read from a wider row (ldx > k, as the decoder reads μ out of [μ | log σ²]), and with
// x, w, b and y at 4-, 8- and 16-byte alignment (a layer's weights and bias sit at offsets of
// the flat parameter buffer; an odd latent size leaves the decoder's at 8 bytes):
// small-integer products are exact, so both must equal the reference bit for bit.
TEST(CudaBackendOps, LinearForwardAndBiasActivationExact) {
  SPECVAE_REQUIRE_GPU();
  for (const bool lt : {false, true}) {
    Pair p(lt);
    const int m = 45, n = 33, k = 17;
    for (const int ldx : {k, k + 5}) {
      for (const int offset : {0, 1, 2, 4}) {
        auto x = small_ints(static_cast<std::size_t>(m) * ldx, -3, 3, 4);
        auto w = small_ints(static_cast<std::size_t>(n) * k, -3, 3, 5);
        auto b = random_floats(n, -2, 2, 6);
        const auto shifted = [&](const std::vector<float>& v) {
          std::vector<float> out(static_cast<std::size_t>(offset), 0.0f);
          out.insert(out.end(), v.begin(), v.end());
          return out;
        };
        for (Activation act : {Activation::Identity, Activation::Relu}) {
          std::vector<float> y_ref(static_cast<std::size_t>(m) * n);
          p.ref.linear_forward(x.data(), ldx, w.data(), b.data(), m, n, k, act, y_ref.data());
          float *dx = to_backend(*p.gpu, shifted(x)), *dw = to_backend(*p.gpu, shifted(w)),
                *dbias = to_backend(*p.gpu, shifted(b));
          float* dy = p.gpu->allocate(y_ref.size() + static_cast<std::size_t>(offset));
          p.gpu->linear_forward(dx + offset, ldx, dw + offset, dbias + offset, m, n, k, act, dy + offset);
          auto y = from_backend(*p.gpu, dy, y_ref.size() + static_cast<std::size_t>(offset));
          y.erase(y.begin(), y.begin() + offset);
          EXPECT_TRUE(near_all(y, y_ref, 0, 0))
              << (lt ? "cuBLASLt epilogue" : "SGEMM + kernel") << ", ldx " << ldx << ", offset " << offset << " floats";
          EXPECT_TRUE(any_nonzero(y));
          if (act == Activation::Relu) {
            EXPECT_TRUE(std::any_of(y.begin(), y.end(), [](float v) { return v == 0.0f; }));
          }
          for (float* q : {dx, dw, dbias, dy}) p.gpu->release(q);
        }
      }
    }
  }
}

TEST(CudaBackendOps, ActivationBackwardAndBiasGrad) {
  SPECVAE_REQUIRE_GPU();
  Pair p;
  const int m = 300, n = 77;  // rows not a multiple of the 8 row groups, columns of 32
  auto y = random_floats(static_cast<std::size_t>(m) * n, -1, 1, 7);
  auto dy = random_floats(y.size(), -1, 1, 8);
  auto dy_ref = dy;
  p.ref.activation_backward(dy_ref.data(), y.data(), m, n, Activation::Relu);
  float *d_y = to_backend(*p.gpu, y), *d_dy = to_backend(*p.gpu, dy);
  p.gpu->activation_backward(d_dy, d_y, m, n, Activation::Relu);
  EXPECT_TRUE(near_all(from_backend(*p.gpu, d_dy, dy.size()), dy_ref, 0, 0));

  for (bool accumulate : {false, true}) {
    std::vector<float> db_ref = random_floats(n, -1, 1, 9);
    float* d_db = to_backend(*p.gpu, db_ref);
    p.ref.bias_grad(dy_ref.data(), m, n, db_ref.data(), accumulate);
    p.gpu->bias_grad(d_dy, m, n, d_db, accumulate);
    auto db = from_backend(*p.gpu, d_db, n);
    EXPECT_TRUE(near_all(db, db_ref, tol::kBiasGradRel, 1e-6)) << "accumulate " << accumulate;
    EXPECT_TRUE(any_nonzero(db));
    p.gpu->release(d_db);
  }
  p.gpu->release(d_y);
  p.gpu->release(d_dy);
}

TEST(CudaBackendOps, DropoutAndActivationBackwardInOnePassAreExact) {
  SPECVAE_REQUIRE_GPU();
  Pair p;
  const int m = 257, n = 301;
  auto y = random_floats(static_cast<std::size_t>(m) * n, -1, 1, 17);
  auto keep = random_floats(y.size(), 0, 1, 18);
  for (float& k : keep) k = k < 0.2f ? 0.0f : 1.25f;  // a dropout mask's keep/scale values
  for (const Activation act : {Activation::Relu, Activation::Identity}) {
    auto dy = random_floats(y.size(), -1, 1, 19);
    auto dy_ref = dy;
    p.ref.dropout_activation_backward(dy_ref.data(), y.data(), keep.data(), m, n, act);
    float *d_y = to_backend(*p.gpu, y), *d_dy = to_backend(*p.gpu, dy), *d_keep = to_backend(*p.gpu, keep);
    p.gpu->dropout_activation_backward(d_dy, d_y, d_keep, m, n, act);
    EXPECT_TRUE(near_all(from_backend(*p.gpu, d_dy, dy.size()), dy_ref, 0, 0)) << "relu " << (act == Activation::Relu);
    p.gpu->release(d_y);
    p.gpu->release(d_dy);
    p.gpu->release(d_keep);
  }
}

TEST(CudaBackendOps, DropoutDrawsTheSameMasksAsTheCpu) {
  SPECVAE_REQUIRE_GPU();
  Pair p;
  const int m = 129, n = 301;
  const float rate = 0.2f;
  const rng::StreamKey key{0x5eed5eedULL, 17, rng::kDropoutBase + 3};
  const auto ids = ids_from(1000, m);
  auto y = random_floats(static_cast<std::size_t>(m) * n, -1, 1, 10);
  auto y_ref = y;
  std::vector<float> keep_ref(y.size());
  p.ref.dropout_forward(y_ref.data(), keep_ref.data(), m, n, rate, key, ids);
  float *d_y = to_backend(*p.gpu, y), *d_keep = p.gpu->allocate(y.size());
  p.gpu->dropout_forward(d_y, d_keep, m, n, rate, key, ids);
  auto keep = from_backend(*p.gpu, d_keep, y.size());
  EXPECT_TRUE(near_all(keep, keep_ref, 0, 0));
  EXPECT_TRUE(near_all(from_backend(*p.gpu, d_y, y.size()), y_ref, 0, 0));
  const double kept = std::count_if(keep.begin(), keep.end(), [](float v) { return v != 0.0f; }) / double(keep.size());
  EXPECT_NEAR(kept, 1.0 - rate, 0.01);

  auto dy = random_floats(y.size(), -1, 1, 11);
  auto dy_ref = dy;
  p.ref.dropout_backward(dy_ref.data(), keep_ref.data(), m, n);
  float* d_dy = to_backend(*p.gpu, dy);
  p.gpu->dropout_backward(d_dy, d_keep, m, n);
  EXPECT_TRUE(near_all(from_backend(*p.gpu, d_dy, dy.size()), dy_ref, 0, 0));
  for (float* q : {d_y, d_keep, d_dy}) p.gpu->release(q);
}

TEST(CudaBackendOps, ReparameterizeForwardAndBackward) {
  SPECVAE_REQUIRE_GPU();
  Pair p;
  const int m = 513, L = 10;
  const rng::StreamKey key{42, 3, rng::kNoise};
  const auto ids = ids_from(5, m);
  auto mulv = random_floats(static_cast<std::size_t>(m) * 2 * L, -2, 2, 12);
  std::vector<float> eps_ref(static_cast<std::size_t>(m) * L), z_ref(eps_ref.size());
  p.ref.reparameterize(mulv.data(), m, L, key, ids, eps_ref.data(), z_ref.data());
  float *d_mulv = to_backend(*p.gpu, mulv), *d_eps = p.gpu->allocate(eps_ref.size()), *d_z = p.gpu->allocate(z_ref.size());
  p.gpu->reparameterize(d_mulv, m, L, key, ids, d_eps, d_z);
  auto eps = from_backend(*p.gpu, d_eps, eps_ref.size());
  EXPECT_TRUE(near_all(eps, eps_ref, 0, tol::kNormalAbs));
  EXPECT_TRUE(near_all(from_backend(*p.gpu, d_z, z_ref.size()), z_ref, 0, tol::kNormalAbs * std::exp(1.0)));
  EXPECT_TRUE(any_nonzero(eps));

  auto dz = random_floats(z_ref.size(), -1, 1, 13);
  auto dmulv = random_floats(mulv.size(), -1, 1, 14);
  auto dmulv_ref = dmulv;
  p.ref.reparameterize_backward(dz.data(), mulv.data(), eps_ref.data(), m, L, dmulv_ref.data());
  float *d_dz = to_backend(*p.gpu, dz), *d_dmulv = to_backend(*p.gpu, dmulv), *d_eps_ref = to_backend(*p.gpu, eps_ref);
  p.gpu->reparameterize_backward(d_dz, d_mulv, d_eps_ref, m, L, d_dmulv);
  EXPECT_TRUE(near_all(from_backend(*p.gpu, d_dmulv, dmulv.size()), dmulv_ref, tol::kAdamRel, tol::kAdamAbs));
  for (float* q : {d_mulv, d_eps, d_z, d_dz, d_dmulv, d_eps_ref}) p.gpu->release(q);
}

TEST(CudaBackendOps, GaussianLossAndKl) {
  SPECVAE_REQUIRE_GPU();
  Pair p;
  const int m = 70, n = 1000, L = 10;
  auto x = random_floats(static_cast<std::size_t>(m) * n, -0.1f, 0.1f, 15);
  auto xhat = random_floats(x.size(), -0.1f, 0.1f, 16);
  auto w = random_floats(x.size(), 0, 400, 17);
  for (std::size_t i = 0; i < w.size(); i += 13) w[i] = 0;  // masked bins
  std::vector<float> dx_ref(x.size()), loss_ref(m);
  p.ref.gaussian_loss(x.data(), w.data(), xhat.data(), m, n, 1.0f / 512, dx_ref.data(), loss_ref.data());
  float *d_x = to_backend(*p.gpu, x), *d_xhat = to_backend(*p.gpu, xhat), *d_w = to_backend(*p.gpu, w);
  float *d_dx = p.gpu->allocate(x.size()), *d_loss = p.gpu->allocate(m);
  p.gpu->gaussian_loss(d_x, d_w, d_xhat, m, n, 1.0f / 512, d_dx, d_loss);
  EXPECT_TRUE(near_all(from_backend(*p.gpu, d_dx, x.size()), dx_ref, 0, 0));
  auto loss = from_backend(*p.gpu, d_loss, m);
  EXPECT_TRUE(near_all(loss, loss_ref, tol::kLossRel, 0));
  EXPECT_TRUE(any_nonzero(loss));

  auto mulv = random_floats(static_cast<std::size_t>(m) * 2 * L, -3, 3, 18);
  std::vector<float> dkl_ref(mulv.size()), kl_ref(m);
  p.ref.kl_divergence(mulv.data(), m, L, 0.7f, 1.0f / 512, dkl_ref.data(), kl_ref.data());
  float *d_mulv = to_backend(*p.gpu, mulv), *d_dkl = p.gpu->allocate(mulv.size()), *d_kl = p.gpu->allocate(m);
  p.gpu->kl_divergence(d_mulv, m, L, 0.7f, 1.0f / 512, d_dkl, d_kl);
  EXPECT_TRUE(near_all(from_backend(*p.gpu, d_dkl, mulv.size()), dkl_ref, tol::kLossRel, tol::kLossAbs));
  EXPECT_TRUE(near_all(from_backend(*p.gpu, d_kl, m), kl_ref, tol::kLossRel, tol::kLossAbs));
  for (float* q : {d_x, d_xhat, d_w, d_dx, d_loss, d_mulv, d_dkl, d_kl}) p.gpu->release(q);
}

TEST(CudaBackendOps, AdamStepsAndSumSquares) {
  SPECVAE_REQUIRE_GPU();
  Pair p;
  const std::size_t n = 100003;
  auto params = random_floats(n, -0.5f, 0.5f, 19);
  std::vector<float> m_ref(n, 0.0f), v_ref(n, 0.0f), params_ref = params;
  float *d_p = to_backend(*p.gpu, params), *d_m = p.gpu->allocate(n), *d_v = p.gpu->allocate(n);
  for (int t = 1; t <= 3; ++t) {
    auto g = random_floats(n, -1e-2f, 1e-2f, 100 + t);
    float* d_g = to_backend(*p.gpu, g);
    model::AdamParams ap;
    ap.t = t;
    p.ref.adam_step(params_ref.data(), g.data(), m_ref.data(), v_ref.data(), n, ap);
    p.gpu->adam_step(d_p, d_g, d_m, d_v, n, ap);
    p.gpu->release(d_g);
  }
  EXPECT_TRUE(near_all(from_backend(*p.gpu, d_m, n), m_ref, tol::kAdamRel, tol::kAdamAbs));
  EXPECT_TRUE(near_all(from_backend(*p.gpu, d_v, n), v_ref, tol::kAdamRel, tol::kAdamAbs));
  EXPECT_TRUE(near_all(from_backend(*p.gpu, d_p, n), params_ref, tol::kAdamRel, tol::kAdamAbs));
  EXPECT_NE(from_backend(*p.gpu, d_p, n), params);

  // The reduction is checked on the GPU's own parameters: the Adam check above allows them a
  // last-bit difference from the reference's, which would move the sum by more than this bound.
  const std::vector<float> params_gpu = from_backend(*p.gpu, d_p, n);
  const double ss_ref = p.ref.sum_squares(params_gpu.data(), n);
  EXPECT_NEAR(p.gpu->sum_squares(d_p, n), ss_ref, tol::kSumSquaresRel * ss_ref);
  EXPECT_EQ(p.gpu->sum_squares(d_p, 0), 0.0);
  params_ref[n / 2] = std::numeric_limits<float>::quiet_NaN();
  p.gpu->upload(d_p, params_ref.data(), n);
  EXPECT_TRUE(std::isnan(p.gpu->sum_squares(d_p, n)));
  for (float* q : {d_p, d_m, d_v}) p.gpu->release(q);
}

TEST(CudaBackendOps, MemoryIsZeroedAndRoundTrips) {
  SPECVAE_REQUIRE_GPU();
  Pair p;
  EXPECT_EQ(p.gpu->name(), "cuda");
  EXPECT_NE(p.gpu->describe().find("cuBLAS"), std::string::npos);
  float* d = p.gpu->allocate(1000);
  auto zeros = from_backend(*p.gpu, d, 1000);
  EXPECT_TRUE(std::all_of(zeros.begin(), zeros.end(), [](float v) { return v == 0.0f; }));
  auto v = random_floats(1000, -1, 1, 20);
  p.gpu->upload(d, v.data(), v.size());
  EXPECT_EQ(from_backend(*p.gpu, d, 1000), v);
  p.gpu->fill_zero(d + 10, 20);
  auto back = from_backend(*p.gpu, d, 1000);
  EXPECT_EQ(back[9], v[9]);
  EXPECT_EQ(back[10], 0.0f);
  EXPECT_EQ(back[29], 0.0f);
  EXPECT_EQ(back[30], v[30]);
  p.gpu->release(d);
  float* empty = p.gpu->allocate(0);
  EXPECT_NE(empty, nullptr);
  p.gpu->release(empty);
}
#else
#include "gpu_test_util.hpp"
TEST(CudaBackendOps, NeedsCudaBuild) { GTEST_SKIP() << "specvae was built without CUDA"; }
#endif
