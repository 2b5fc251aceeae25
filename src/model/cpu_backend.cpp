// CPU implementations of the backend ops: BLAS for the GEMMs, OpenMP loops for the rest.
// Parallel loops split rows (or columns for bias gradients) so each output element is
// computed by one thread in a fixed order: results are independent of the thread count.
#include "cpu_backend.hpp"

#include <immintrin.h>

#include <omp.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "specvae/model/cpu_gemm.hpp"
#include "isa_clones.hpp"
#include "specvae/core/error.hpp"

namespace specvae::model {

namespace {
// Element-wise loops below this size run on one thread: a parallel region costs ~1–2 µs.
constexpr std::size_t kParallelMin = 16384;

// The element-wise kernels come in AVX-512, AVX2 and baseline versions (isa_clones.hpp): the
// element-wise results (bias + ReLU, masks, the loss gradient, the Adam update) are the same
// bits whichever version runs. Sums across a row (a spectrum's loss, Σ g²) are added in an
// order that depends on the vector width and may differ in the last bits between CPUs, as the
// BLAS library's GEMM kernels do.

SPECVAE_ISA_CLONES void bias_act_kernel(float* y, const float* bias, int m, int n, bool relu, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) if (static_cast<std::size_t>(m) * n >= kParallelMin)
  for (int i = 0; i < m; ++i) {
    float* row = y + static_cast<std::size_t>(i) * n;
    if (relu) {
#pragma omp simd
      for (int j = 0; j < n; ++j) row[j] = std::max(row[j] + bias[j], 0.0f);
    } else {
#pragma omp simd
      for (int j = 0; j < n; ++j) row[j] += bias[j];
    }
  }
}

SPECVAE_ISA_CLONES void relu_backward_kernel(float* dy, const float* y, std::size_t total, int threads) {
#pragma omp parallel for simd num_threads(threads) schedule(static) if (total >= kParallelMin)
  for (std::size_t i = 0; i < total; ++i) dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

// dY ← ReLU'(Y) · (dY · keep): the two backward passes of a hidden layer in one.
SPECVAE_ISA_CLONES void relu_dropout_backward_kernel(float* dy, const float* y, const float* keep, std::size_t total,
                                                     int threads) {
#pragma omp parallel for simd num_threads(threads) schedule(static) if (total >= kParallelMin)
  for (std::size_t i = 0; i < total; ++i) dy[i] = y[i] > 0.0f ? dy[i] * keep[i] : 0.0f;
}

SPECVAE_ISA_CLONES void multiply_kernel(float* dy, const float* factor, std::size_t total, int threads) {
#pragma omp parallel for simd num_threads(threads) schedule(static) if (total >= kParallelMin)
  for (std::size_t i = 0; i < total; ++i) dy[i] *= factor[i];
}

// Column blocks of 64 per task: each column is summed over rows in row order, in double.
SPECVAE_ISA_CLONES void bias_grad_kernel(const float* dy, int m, int n, float* db, bool accumulate, int threads) {
  constexpr int kBlock = 64;
  const int blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(threads) schedule(static) if (static_cast<std::size_t>(m) * n >= kParallelMin)
  for (int blk = 0; blk < blocks; ++blk) {
    const int j0 = blk * kBlock, j1 = std::min(n, j0 + kBlock);
    double acc[kBlock];
    for (int j = j0; j < j1; ++j) acc[j - j0] = accumulate ? db[j] : 0.0;
    for (int i = 0; i < m; ++i) {
      const float* row = dy + static_cast<std::size_t>(i) * n;
#pragma omp simd
      for (int j = j0; j < j1; ++j) acc[j - j0] += row[j];
    }
    for (int j = j0; j < j1; ++j) db[j] = static_cast<float>(acc[j - j0]);
  }
}

SPECVAE_ISA_CLONES void gaussian_loss_kernel(const float* x, const float* w, const float* xhat, int m, int n,
                                             float grad_scale, float* dxhat, float* per_sample, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) if (static_cast<std::size_t>(m) * n >= kParallelMin)
  for (int i = 0; i < m; ++i) {
    const std::size_t off = static_cast<std::size_t>(i) * n;
    double acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int j = 0; j < n; ++j) {
      const float r = xhat[off + j] - x[off + j];
      const float wr = w[off + j] * r;
      acc += static_cast<double>(wr) * r;
      dxhat[off + j] = grad_scale * wr;
    }
    per_sample[i] = static_cast<float>(0.5 * acc);
  }
}

// Adam with the bias corrections folded into `step` and `inv_sqrt_bc2`; returns Σ g² (in
// double) over the gradient, read in the same pass.
SPECVAE_ISA_CLONES double adam_kernel(float* params, const float* grads, float* m, float* v, std::size_t n, float step,
                                      float inv_sqrt_bc2, float b1, float b2, float eps, int threads) {
  const float c1 = 1.0f - b1, c2 = 1.0f - b2;
  double acc = 0;
#pragma omp parallel for simd num_threads(threads) schedule(static) reduction(+ : acc) if (n >= kParallelMin)
  for (std::size_t i = 0; i < n; ++i) {
    const float g = grads[i];
    acc += static_cast<double>(g) * g;
    const float mi = b1 * m[i] + c1 * g;
    const float vi = b2 * v[i] + c2 * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] -= step * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
  }
  return acc;
}

SPECVAE_ISA_CLONES double sum_squares_kernel(const float* x, std::size_t n, int threads) {
  double acc = 0;
#pragma omp parallel for simd num_threads(threads) schedule(static) reduction(+ : acc) if (n >= kParallelMin)
  for (std::size_t i = 0; i < n; ++i) acc += static_cast<double>(x[i]) * x[i];
  return acc;
}
}  // namespace

CpuBackend::CpuBackend(int threads, const std::string& gemm)
    : threads_(threads > 0 ? threads : omp_get_max_threads()),
      gemm_(choose_gemm_library(gemm)),
      batch_invariant_(gemm == "batch-invariant") {}

void CpuBackend::sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                       const float* b, int ldb, float beta, float* c, int ldc) {
  if (batch_invariant_)
    cpu_sgemm_fixed_tiles(gemm_.library, threads_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    cpu_sgemm(gemm_.library, threads_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

std::string CpuBackend::describe() const {
  return fmt::format("cpu ({} threads; GEMM: {}, kernel {}{}{})", threads_, gemm_.name, gemm_.kernel,
                     gemm_.slow_fallback ? ", a slow fallback" : "", batch_invariant_ ? ", fixed tiles" : "");
}

void CpuBackend::fill_zero(float* x, std::size_t n) { std::fill(x, x + n, 0.0f); }

void CpuBackend::gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                      const float* b, int ldb, float beta, float* c, int ldc) {
  sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void CpuBackend::linear_forward(const float* x, int ldx, const float* w, const float* b, int m, int n, int k,
                                Activation act, float* y) {
  sgemm(false, true, m, n, k, 1.0f, x, ldx, w, k, 0.0f, y, n);
  bias_activation_forward(y, b, m, n, act);
}

void CpuBackend::bias_activation_forward(float* y, const float* bias, int m, int n, Activation act) {
  bias_act_kernel(y, bias, m, n, act == Activation::Relu, threads_);
}

void CpuBackend::activation_backward(float* dy, const float* y, int m, int n, Activation act) {
  if (act == Activation::Identity) return;
  relu_backward_kernel(dy, y, static_cast<std::size_t>(m) * n, threads_);
}

void CpuBackend::bias_grad(const float* dy, int m, int n, float* db, bool accumulate) {
  bias_grad_kernel(dy, m, n, db, accumulate, threads_);
}

namespace {

// Dropout keep-scales of one row, n elements: exactly rng::block + rng::bits16 per element
// (the reference backend and the CUDA kernel draw the same masks), 16 Philox blocks at a time
// (the one-block-at-a-time loop was ~10% of a 1-thread training step).
constexpr int kDropoutLanes = 16;

// Keep-scales of the elements of blocks [b0, b0 + 16) from their Philox words.
inline void apply_dropout_words(float* y, float* keep, int n, int b0, int blocks, const std::uint32_t* v0,
                                const std::uint32_t* v1, const std::uint32_t* v2, const std::uint32_t* v3,
                                std::uint32_t threshold, float scale) {
  const int last = std::min(blocks, b0 + kDropoutLanes);
  for (int b = b0; b < last; ++b) {
    const int l = b - b0;
    const rng::Philox4x32 words{{v0[l], v1[l], v2[l], v3[l]}};
    const int j0 = b * 8, j1 = std::min(n, j0 + 8);
    for (int j = j0; j < j1; ++j) {
      const std::uint32_t bits = rng::bits16(words, static_cast<std::uint32_t>(j));
      keep[j] = bits >= threshold ? scale : 0.0f;
      y[j] *= keep[j];
    }
  }
}

// GCC 12's AVX-512 shift/multiply intrinsics use an undefined pass-through operand that its
// -Wmaybe-uninitialized reports from inside the header; nothing here is uninitialised.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f"))) inline void mulhilo16(__m512i m, __m512i a, __m512i& hi, __m512i& lo) {
  const __m512i even = _mm512_mul_epu32(m, a);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(m, 32), _mm512_srli_epi64(a, 32));
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

// Keep-scales of the 128 elements of 16 whole blocks at once, from their words in SoA form
// (x_w holds word w of the 16 blocks). Transposed to AoS, the 4 words of a block are its 8
// 16-bit draws in element order (rng::bits16: element e is half e&1 of word e>>1, low half
// first), so the 4 transposed vectors hold the draws of 128 consecutive elements: one
// unsigned 16-bit compare per 32 elements, then masked moves for the scales.
__attribute__((target("avx512f,avx512bw"))) inline void apply_dropout_vectors(float* y, float* keep, __m512i x0, __m512i x1,
                                                                              __m512i x2, __m512i x3, __m512i threshold,
                                                                              __m512 scale) {
  // 4×4 transposes of 32-bit words within each 128-bit lane: u_k = block 4L+k in lane L.
  const __m512i t0 = _mm512_unpacklo_epi32(x0, x1), t1 = _mm512_unpackhi_epi32(x0, x1);
  const __m512i t2 = _mm512_unpacklo_epi32(x2, x3), t3 = _mm512_unpackhi_epi32(x2, x3);
  const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
  const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
  // 4×4 transpose of the 128-bit lanes: out_q = blocks 4q .. 4q+3.
  const __m512i v0 = _mm512_shuffle_i32x4(u0, u1, 0x44), v1 = _mm512_shuffle_i32x4(u2, u3, 0x44);
  const __m512i v2 = _mm512_shuffle_i32x4(u0, u1, 0xEE), v3 = _mm512_shuffle_i32x4(u2, u3, 0xEE);
  const __m512i out[4] = {_mm512_shuffle_i32x4(v0, v1, 0x88), _mm512_shuffle_i32x4(v0, v1, 0xDD),
                          _mm512_shuffle_i32x4(v2, v3, 0x88), _mm512_shuffle_i32x4(v2, v3, 0xDD)};
  for (int q = 0; q < 4; ++q) {
    const __mmask32 kept = _mm512_cmpge_epu16_mask(out[q], threshold);
    for (int h = 0; h < 2; ++h) {
      const int j = 32 * q + 16 * h;
      const __m512 k = _mm512_maskz_mov_ps(static_cast<__mmask16>(kept >> (16 * h)), scale);
      _mm512_storeu_ps(keep + j, k);
      _mm512_storeu_ps(y + j, _mm512_mul_ps(_mm512_loadu_ps(y + j), k));
    }
  }
}

}  // namespace

namespace detail {

void dropout_row_scalar(float* y, float* keep, int n, std::uint32_t c1, std::uint32_t c2, std::uint32_t c3,
                        std::uint32_t k0_init, std::uint32_t k1_init, std::uint32_t threshold, float scale) {
  const int blocks = (n + 7) / 8;
  for (int b0 = 0; b0 < blocks; b0 += kDropoutLanes) {
    std::uint32_t v0[kDropoutLanes], v1[kDropoutLanes], v2[kDropoutLanes], v3[kDropoutLanes];
    for (int l = 0; l < kDropoutLanes; ++l) {
      const rng::Philox4x32 r = rng::philox4x32(rng::Philox4x32{{static_cast<std::uint32_t>(b0 + l), c1, c2, c3}}, k0_init, k1_init);
      v0[l] = r.v[0];
      v1[l] = r.v[1];
      v2[l] = r.v[2];
      v3[l] = r.v[3];
    }
    apply_dropout_words(y, keep, n, b0, blocks, v0, v1, v2, v3, threshold, scale);
  }
}

// The same ten rounds on 16 counters at once with AVX-512: 32×32→64-bit products of the even
// and odd lanes (vpmuludq), recombined into the high and low words; whole groups of 16 blocks
// are applied in vectors, a partial last group element by element.
__attribute__((target("avx512f,avx512bw"))) void dropout_row_avx512(float* y, float* keep, int n, std::uint32_t c1,
                                                           std::uint32_t c2, std::uint32_t c3, std::uint32_t k0_init,
                                                           std::uint32_t k1_init, std::uint32_t threshold, float scale) {
  const int blocks = (n + 7) / 8;
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(rng::detail::kM0));
  const __m512i m1 = _mm512_set1_epi32(static_cast<int>(rng::detail::kM1));
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i threshold16 = _mm512_set1_epi16(static_cast<short>(static_cast<std::uint16_t>(std::min(threshold, 65535u))));
  const __m512 scale_v = _mm512_set1_ps(scale);
  alignas(64) std::uint32_t v0[kDropoutLanes], v1[kDropoutLanes], v2[kDropoutLanes], v3[kDropoutLanes];
  for (int b0 = 0; b0 < blocks; b0 += kDropoutLanes) {
    __m512i x0 = _mm512_add_epi32(_mm512_set1_epi32(b0), lanes);
    __m512i x1 = _mm512_set1_epi32(static_cast<int>(c1));
    __m512i x2 = _mm512_set1_epi32(static_cast<int>(c2));
    __m512i x3 = _mm512_set1_epi32(static_cast<int>(c3));
    std::uint32_t k0 = k0_init, k1 = k1_init;
    for (int round = 0; round < 10; ++round) {
      __m512i hi0, lo0, hi1, lo1;
      mulhilo16(m0, x0, hi0, lo0);
      mulhilo16(m1, x2, hi1, lo1);
      x0 = _mm512_xor_si512(_mm512_xor_si512(hi1, x1), _mm512_set1_epi32(static_cast<int>(k0)));
      x1 = lo1;
      x2 = _mm512_xor_si512(_mm512_xor_si512(hi0, x3), _mm512_set1_epi32(static_cast<int>(k1)));
      x3 = lo0;
      k0 += rng::detail::kW0;
      k1 += rng::detail::kW1;
    }
    if (b0 * 8 + 8 * kDropoutLanes <= n && threshold <= 65535u) {
      apply_dropout_vectors(y + b0 * 8, keep + b0 * 8, x0, x1, x2, x3, threshold16, scale_v);
      continue;
    }
    _mm512_store_si512(v0, x0);
    _mm512_store_si512(v1, x1);
    _mm512_store_si512(v2, x2);
    _mm512_store_si512(v3, x3);
    apply_dropout_words(y, keep, n, b0, blocks, v0, v1, v2, v3, threshold, scale);
  }
}
#pragma GCC diagnostic pop

}  // namespace detail

namespace {

void dropout_row(float* y, float* keep, int n, std::uint32_t c1, std::uint32_t c2, std::uint32_t c3, std::uint32_t k0,
                 std::uint32_t k1, std::uint32_t threshold, float scale) {
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  if (avx512) detail::dropout_row_avx512(y, keep, n, c1, c2, c3, k0, k1, threshold, scale);
  else detail::dropout_row_scalar(y, keep, n, c1, c2, c3, k0, k1, threshold, scale);
}

}  // namespace

void CpuBackend::dropout_forward(float* y, float* keep_scale, int m, int n, float rate, const rng::StreamKey& key,
                                 std::span<const std::int64_t> sample_ids) {
  SPECVAE_CHECK(sample_ids.size() >= static_cast<std::size_t>(m), "dropout: {} sample ids for {} rows",
                sample_ids.size(), m);
  const float scale = 1.0f / (1.0f - rate);
  const std::uint32_t threshold = rng::dropout_threshold(rate);
  const auto k0 = static_cast<std::uint32_t>(key.seed), k1 = static_cast<std::uint32_t>(key.seed >> 32);
#pragma omp parallel for num_threads(threads_) schedule(static) if (static_cast<std::size_t>(m) * n >= kParallelMin)
  for (int i = 0; i < m; ++i) {
    // Words 1-3 of rng::block's counter are the same for every element block of the row.
    const rng::Philox4x32 c = rng::counter(key, static_cast<std::uint64_t>(sample_ids[i]), 0);
    dropout_row(y + static_cast<std::size_t>(i) * n, keep_scale + static_cast<std::size_t>(i) * n, n, c.v[1], c.v[2],
                c.v[3], k0, k1, threshold, scale);
  }
}

void CpuBackend::dropout_backward(float* dy, const float* keep_scale, int m, int n) {
  multiply_kernel(dy, keep_scale, static_cast<std::size_t>(m) * n, threads_);
}

void CpuBackend::dropout_activation_backward(float* dy, const float* y, const float* keep_scale, int m, int n,
                                             Activation act) {
  if (keep_scale && act == Activation::Relu)
    relu_dropout_backward_kernel(dy, y, keep_scale, static_cast<std::size_t>(m) * n, threads_);
  else
    Backend::dropout_activation_backward(dy, y, keep_scale, m, n, act);
}

void CpuBackend::reparameterize(const float* mu_logvar, int m, int latent, const rng::StreamKey& key,
                                std::span<const std::int64_t> sample_ids, float* eps, float* z) {
  SPECVAE_CHECK(sample_ids.size() >= static_cast<std::size_t>(m), "reparameterize: {} ids for {} rows",
                sample_ids.size(), m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < latent; ++j) {
      const std::size_t zi = static_cast<std::size_t>(i) * latent + j;
      const std::size_t mi = static_cast<std::size_t>(i) * 2 * latent + j;
      const float e = rng::normal(key, static_cast<std::uint64_t>(sample_ids[i]), static_cast<std::uint32_t>(j));
      eps[zi] = e;
      z[zi] = static_cast<float>(mu_logvar[mi] + std::exp(0.5 * static_cast<double>(mu_logvar[mi + latent])) * e);
    }
}

void CpuBackend::reparameterize_backward(const float* dz, const float* mu_logvar, const float* eps, int m, int latent,
                                         float* d_mu_logvar) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < latent; ++j) {
      const std::size_t zi = static_cast<std::size_t>(i) * latent + j;
      const std::size_t mi = static_cast<std::size_t>(i) * 2 * latent + j;
      const double lv = mu_logvar[mi + latent];
      d_mu_logvar[mi] += dz[zi];
      d_mu_logvar[mi + latent] = static_cast<float>(d_mu_logvar[mi + latent] +
                                                    dz[zi] * static_cast<double>(eps[zi]) * 0.5 * std::exp(0.5 * lv));
    }
}

void CpuBackend::gaussian_loss(const float* x, const float* w, const float* xhat, int m, int n, float grad_scale,
                               float* dxhat, float* per_sample) {
  gaussian_loss_kernel(x, w, xhat, m, n, grad_scale, dxhat, per_sample, threads_);
}

void CpuBackend::kl_divergence(const float* mu_logvar, int m, int latent, float weight, float grad_scale,
                               float* d_mu_logvar, float* per_sample) {
  const double s = static_cast<double>(grad_scale) * weight;
  for (int i = 0; i < m; ++i) {
    double acc = 0;
    for (int j = 0; j < latent; ++j) {
      const std::size_t mi = static_cast<std::size_t>(i) * 2 * latent + j;
      const double mu = mu_logvar[mi], lv = mu_logvar[mi + latent], elv = std::exp(lv);
      acc += 1.0 + lv - mu * mu - elv;
      d_mu_logvar[mi] = static_cast<float>(s * mu);
      d_mu_logvar[mi + latent] = static_cast<float>(s * 0.5 * (elv - 1.0));
    }
    per_sample[i] = static_cast<float>(-0.5 * acc);
  }
}

namespace {
// Bias corrections folded into a step size and a scale of √v, computed once in double.
double adam_with(const AdamParams& p, float* params, const float* grads, float* m, float* v, std::size_t n,
                 int threads) {
  const double bc1 = 1.0 - std::pow(static_cast<double>(p.beta1), static_cast<double>(p.t));
  const double bc2 = 1.0 - std::pow(static_cast<double>(p.beta2), static_cast<double>(p.t));
  return adam_kernel(params, grads, m, v, n, static_cast<float>(p.lr / bc1), static_cast<float>(1.0 / std::sqrt(bc2)),
                     p.beta1, p.beta2, p.eps, threads);
}
}  // namespace

void CpuBackend::adam_step(float* params, const float* grads, float* m, float* v, std::size_t n,
                           const AdamParams& p) {
  adam_with(p, params, grads, m, v, n, threads_);
}

// The gradient is read once for both (Adam runs at memory bandwidth).
double CpuBackend::adam_step_checked(float* params, const float* grads, float* m, float* v, std::size_t n,
                                     const AdamParams& p) {
  return adam_with(p, params, grads, m, v, n, threads_);
}

double CpuBackend::sum_squares(const float* x, std::size_t n) { return sum_squares_kernel(x, n, threads_); }

}  // namespace specvae::model
