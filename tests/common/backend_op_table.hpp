// The op-parity table: every model::Backend op as one entry, run on a backend under test and
// on the reference backend (plain loops, double sums) with the same inputs, and compared
// within op_tolerances.hpp. Inputs are small integers wherever the op's result is then exact
// in float (the GEMMs, the layer forward), so those must agree bit for bit in any summation
// order. The CPU backend runs the table in tests/unit/test_model_backend_ops.cpp (each GEMM
// library), the CUDA backend in tests/gpu/test_cuda_backend_ops.cpp (both layer-forward
// paths). Adding an op to model::Backend is one entry here, plus its implementations.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "backend_parity.hpp"
#include "op_tolerances.hpp"
#include "specvae/model/backend.hpp"

namespace specvae::parity {

// Buffers in one backend's memory, released with it.
class Mem {
 public:
  explicit Mem(model::Backend& backend) : be(backend) {}
  ~Mem() {
    for (float* p : owned_) be.release(p);
  }
  Mem(const Mem&) = delete;
  Mem& operator=(const Mem&) = delete;
  float* put(const std::vector<float>& host) {
    float* p = zeros(host.size());
    if (!host.empty()) be.upload(p, host.data(), host.size());
    return p;
  }
  float* zeros(std::size_t n) {
    owned_.push_back(be.allocate(n));
    return owned_.back();
  }
  std::vector<float> get(const float* p, std::size_t n) {
    std::vector<float> host(n);
    be.synchronize();
    if (n > 0) be.download(host.data(), p, n);
    return host;
  }
  model::Backend& be;

 private:
  std::vector<float*> owned_;
};

using Outputs = std::vector<std::vector<float>>;

// Runs op(Mem&) → Outputs on the backend under test and on the reference, same inputs.
template <class Op>
std::pair<Outputs, Outputs> on_both(model::Backend& be, model::Backend& ref, Op op) {
  Mem got(be), want(ref);
  Outputs g = op(got), w = op(want);
  return {std::move(g), std::move(w)};
}

// Row sample ids not consecutive and above 2^32 (the high word of the counter-based draws).
inline std::vector<std::int64_t> sample_ids(std::int64_t first, int m) {
  std::vector<std::int64_t> ids(static_cast<std::size_t>(m));
  for (int i = 0; i < m; ++i) ids[static_cast<std::size_t>(i)] = first + 7 * i + (std::int64_t{1} << 33);
  return ids;
}

// A dropout mask's keep/scale values (0 or 1/(1 − rate)) at about `rate` zeros.
inline std::vector<float> keep_mask(std::size_t n, float rate, std::uint32_t seed) {
  auto keep = random_floats(n, 0, 1, seed);
  for (float& k : keep) k = k < rate ? 0.0f : 1.0f / (1.0f - rate);
  return keep;
}

struct OpCase {
  const char* name;
  std::function<void(model::Backend& be, model::Backend& ref)> check;
};

namespace detail {

using model::Activation;
using model::Backend;

inline void gemm_case(Backend& be, Backend& ref, bool integers) {
  struct Shape {
    int m, n, k;
    float alpha, beta;
    int pad;  // leading dimensions wider than the rows (sub-matrices)
  };
  const std::vector<Shape> shapes = integers ? std::vector<Shape>{{37, 53, 29, 1, 0, 0}, {19, 23, 31, 2, -1, 3}}
                                             : std::vector<Shape>{{64, 300, 1000, 1, 0.5f, 0}};
  for (const Shape& s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const int lda = (ta ? s.m : s.k) + s.pad, ldb = (tb ? s.k : s.n) + s.pad, ldc = s.n + s.pad;
        const std::size_t a_n = static_cast<std::size_t>(ta ? s.k : s.m) * lda,
                          b_n = static_cast<std::size_t>(tb ? s.n : s.k) * ldb, c_n = static_cast<std::size_t>(s.m) * ldc;
        const auto a = integers ? small_ints(a_n, -4, 4, 1) : random_floats(a_n, -1, 1, 1);
        const auto b = integers ? small_ints(b_n, -4, 4, 2) : random_floats(b_n, -1, 1, 2);
        const auto c = integers ? small_ints(c_n, -4, 4, 3) : random_floats(c_n, -1, 1, 3);
        const auto [got, want] = on_both(be, ref, [&](Mem& mem) {
          float* dc = mem.put(c);
          mem.be.gemm(ta, tb, s.m, s.n, s.k, s.alpha, mem.put(a), lda, mem.put(b), ldb, s.beta, dc, ldc);
          return Outputs{mem.get(dc, c_n)};
        });
        ASSERT_TRUE(any_nonzero(want[0]));
        double abs_tol = 0;
        if (!integers) {
          // Any summation order in float: |ĉ − c| ≤ γ_k (Σ_p |α a b| + |β c|), at its largest.
          double scale = 0;
          for (int i = 0; i < s.m; ++i)
            for (int j = 0; j < s.n; ++j) {
              double sum = std::abs(s.beta * c[static_cast<std::size_t>(i) * ldc + j]);
              for (int q = 0; q < s.k; ++q) {
                const float av = ta ? a[static_cast<std::size_t>(q) * lda + i] : a[static_cast<std::size_t>(i) * lda + q];
                const float bv = tb ? b[static_cast<std::size_t>(j) * ldb + q] : b[static_cast<std::size_t>(q) * ldb + j];
                sum += std::abs(s.alpha * av * bv);
              }
              scale = std::max(scale, sum);
            }
          abs_tol = tol::gemm_bound(s.k) * scale;
        }
        EXPECT_TRUE(near_all(got[0], want[0], 0, abs_tol)) << "ta " << ta << " tb " << tb << " m " << s.m;
      }
}

// x read from a wider row (ldx > k: the decoder reads μ out of [μ | log σ²]) and x, w, b, y
// at 4-, 8- and 16-byte offsets (a layer's weights sit at offsets of the flat parameter
// buffer); small-integer products are exact, so every path must equal the reference.
inline void linear_forward_case(Backend& be, Backend& ref) {
  const int m = 45, n = 33, k = 17;
  for (const int ldx : {k, k + 5})
    for (const int offset : {0, 1, 2, 4})
      for (const Activation act : {Activation::Identity, Activation::Relu}) {
        const auto x = small_ints(static_cast<std::size_t>(m) * ldx, -3, 3, 4);
        const auto w = small_ints(static_cast<std::size_t>(n) * k, -3, 3, 5);
        const auto b = random_floats(n, -2, 2, 6);
        const auto shifted = [&](const std::vector<float>& v) {
          std::vector<float> out(static_cast<std::size_t>(offset), 0.0f);
          out.insert(out.end(), v.begin(), v.end());
          return out;
        };
        const std::size_t y_n = static_cast<std::size_t>(m) * n;
        const auto [got, want] = on_both(be, ref, [&](Mem& mem) {
          float* y = mem.zeros(y_n + static_cast<std::size_t>(offset));
          mem.be.linear_forward(mem.put(shifted(x)) + offset, ldx, mem.put(shifted(w)) + offset,
                                mem.put(shifted(b)) + offset, m, n, k, act, y + offset);
          return Outputs{mem.get(y + offset, y_n)};
        });
        EXPECT_TRUE(near_all(got[0], want[0], 0, 0)) << "ldx " << ldx << ", offset " << offset << " floats, relu "
                                                     << (act == Activation::Relu);
        EXPECT_TRUE(any_nonzero(got[0]));
        if (act == Activation::Relu) {
          EXPECT_TRUE(std::any_of(got[0].begin(), got[0].end(), [](float v) { return v == 0.0f; }));
        }
      }
}

inline void dropout_forward_case(Backend& be, Backend& ref) {
  const int m = 129, n = 301;
  // A plain key, and every word of the counter and key in play (a 64-bit seed, a step).
  const std::vector<std::pair<float, rng::StreamKey>> draws = {
      {0.2f, rng::StreamKey{0x5eed5eedULL, 17, rng::kDropoutBase + 3}},
      {0.35f, rng::StreamKey{0x0123456789ABCDEFull, 77777, rng::kDropoutBase + 3}}};
  for (const auto& [rate, key] : draws) {
    const auto ids = sample_ids(1000, m);
    const auto y = random_floats(static_cast<std::size_t>(m) * n, -1, 1, 10);
    const auto [got, want] = on_both(be, ref, [&](Mem& mem) {
      float *dy = mem.put(y), *keep = mem.zeros(y.size());
      mem.be.dropout_forward(dy, keep, m, n, rate, key, ids);
      return Outputs{mem.get(keep, y.size()), mem.get(dy, y.size())};
    });
    EXPECT_TRUE(near_all(got[0], want[0], 0, 0)) << "masks, rate " << rate;
    EXPECT_TRUE(near_all(got[1], want[1], 0, 0)) << "values, rate " << rate;
    const double kept =
        std::count_if(got[0].begin(), got[0].end(), [](float v) { return v != 0.0f; }) / double(got[0].size());
    EXPECT_NEAR(kept, 1.0 - rate, 0.01);
  }
}

// Dropout and activation backward in one pass: exact, equal to the two passes one after the
// other, on a layer output with ReLU zeros and dropped elements.
inline void dropout_activation_backward_case(Backend& be, Backend& ref) {
  const int m = 257, n = 301;
  const auto keep = keep_mask(static_cast<std::size_t>(m) * n, 0.2f, 18);
  auto y = random_floats(keep.size(), -1, 1, 17);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = std::max(y[i], 0.0f) * keep[i];
  const auto dy = random_floats(y.size(), -1, 1, 19);
  for (const Activation act : {Activation::Relu, Activation::Identity}) {
    const auto [got, want] = on_both(be, ref, [&](Mem& mem) {
      float *d_y = mem.put(y), *d_keep = mem.put(keep), *one = mem.put(dy), *two = mem.put(dy);
      mem.be.dropout_activation_backward(one, d_y, d_keep, m, n, act);
      mem.be.dropout_backward(two, d_keep, m, n);
      mem.be.activation_backward(two, d_y, m, n, act);
      return Outputs{mem.get(one, dy.size()), mem.get(two, dy.size())};
    });
    EXPECT_TRUE(near_all(got[0], want[0], 0, 0)) << "relu " << (act == Activation::Relu);
    EXPECT_TRUE(near_all(got[0], got[1], 0, 0)) << "one pass vs two, relu " << (act == Activation::Relu);
    const auto zeros = std::count(got[0].begin(), got[0].end(), 0.0f);
    EXPECT_GT(zeros, static_cast<std::ptrdiff_t>(got[0].size() / (act == Activation::Relu ? 3 : 6)))
        << "the ReLU and dropout zeros were not exercised";
  }
}

inline void reparameterize_case(Backend& be, Backend& ref) {
  const int m = 513, L = 10;
  const rng::StreamKey key{42, 3, rng::kNoise};
  const auto ids = sample_ids(5, m);
  const auto mulv = random_floats(static_cast<std::size_t>(m) * 2 * L, -2, 2, 12);
  const std::size_t z_n = static_cast<std::size_t>(m) * L;
  const auto [got, want] = on_both(be, ref, [&](Mem& mem) {
    float *eps = mem.zeros(z_n), *z = mem.zeros(z_n);
    mem.be.reparameterize(mem.put(mulv), m, L, key, ids, eps, z);
    return Outputs{mem.get(eps, z_n), mem.get(z, z_n)};
  });
  EXPECT_TRUE(near_all(got[0], want[0], 0, tol::kNormalAbs)) << "eps";
  EXPECT_TRUE(near_all(got[1], want[1], 0, tol::kNormalAbs * std::exp(1.0))) << "z";  // σ ≤ e
  EXPECT_TRUE(any_nonzero(got[0]));
}

inline void reparameterize_backward_case(Backend& be, Backend& ref) {
  const int m = 513, L = 10;
  const auto mulv = random_floats(static_cast<std::size_t>(m) * 2 * L, -2, 2, 12);
  const auto eps = random_floats(static_cast<std::size_t>(m) * L, -3, 3, 13);
  const auto dz = random_floats(eps.size(), -1, 1, 14);
  const auto dmulv = random_floats(mulv.size(), -1, 1, 15);  // accumulated into
  const auto [got, want] = on_both(be, ref, [&](Mem& mem) {
    float* d = mem.put(dmulv);
    mem.be.reparameterize_backward(mem.put(dz), mem.put(mulv), mem.put(eps), m, L, d);
    return Outputs{mem.get(d, dmulv.size())};
  });
  EXPECT_TRUE(near_all(got[0], want[0], tol::kAdamRel, tol::kAdamAbs));
}

inline void gaussian_loss_case(Backend& be, Backend& ref) {
  const int m = 70, n = 1000;
  const auto x = random_floats(static_cast<std::size_t>(m) * n, -0.1f, 0.1f, 15);
  const auto xhat = random_floats(x.size(), -0.1f, 0.1f, 16);
  auto w = random_floats(x.size(), 0, 400, 17);
  for (std::size_t i = 0; i < w.size(); i += 13) w[i] = 0;  // masked bins
  const auto [got, want] = on_both(be, ref, [&](Mem& mem) {
    float *dx = mem.zeros(x.size()), *loss = mem.zeros(m);
    mem.be.gaussian_loss(mem.put(x), mem.put(w), mem.put(xhat), m, n, 1.0f / 512, dx, loss);
    return Outputs{mem.get(dx, x.size()), mem.get(loss, m)};
  });
  EXPECT_TRUE(near_all(got[0], want[0], tol::kLossGradRel, 0)) << "gradient";
  EXPECT_TRUE(near_all(got[1], want[1], tol::kLossRel, 0)) << "loss";
  EXPECT_TRUE(any_nonzero(got[1]));
  // One bin by hand: ½·w·(x̂ − x)² with w = 4, x = 1, x̂ = 3 is 8, and so is the gradient.
  Mem mem(be);
  float *d = mem.zeros(1), *l = mem.zeros(1);
  be.gaussian_loss(mem.put({1}), mem.put({4}), mem.put({3}), 1, 1, 1.0f, d, l);
  EXPECT_EQ(mem.get(l, 1)[0], 8.0f);
  EXPECT_EQ(mem.get(d, 1)[0], 8.0f);
}

inline void kl_divergence_case(Backend& be, Backend& ref) {
  const int m = 70, L = 10;
  const auto mulv = random_floats(static_cast<std::size_t>(m) * 2 * L, -3, 3, 18);
  const auto [got, want] = on_both(be, ref, [&](Mem& mem) {
    float *dkl = mem.zeros(mulv.size()), *kl = mem.zeros(m);
    mem.be.kl_divergence(mem.put(mulv), m, L, 0.7f, 1.0f / 512, dkl, kl);
    return Outputs{mem.get(dkl, mulv.size()), mem.get(kl, m)};
  });
  EXPECT_TRUE(near_all(got[0], want[0], tol::kLossRel, tol::kLossAbs)) << "gradient";
  EXPECT_TRUE(near_all(got[1], want[1], tol::kLossRel, tol::kLossAbs)) << "KL";
  // N(0, 1) against N(0, 1): KL 0.
  Mem mem(be);
  float *g = mem.zeros(2 * L), *kl = mem.zeros(1);
  be.kl_divergence(mem.put(std::vector<float>(2 * L, 0.0f)), 1, L, 1.0f, 1.0f, g, kl);
  EXPECT_EQ(mem.get(kl, 1)[0], 0.0f);
}

// Three steps from zero moments (their 1-ulp differences carry from step to step); `checked`
// also returns Σ g² of each step's gradient.
inline void adam_case(Backend& be, Backend& ref, bool checked) {
  const std::size_t n = 100003;
  const auto params = random_floats(n, -0.5f, 0.5f, 19);
  std::vector<double> sums_got, sums_want;
  const auto [got, want] = on_both(be, ref, [&](Mem& mem) {
    float *p = mem.put(params), *m = mem.zeros(n), *v = mem.zeros(n);
    auto& sums = &mem.be == &be ? sums_got : sums_want;
    for (int t = 1; t <= 3; ++t) {
      model::AdamParams ap;
      ap.t = t;
      float* g = mem.put(random_floats(n, -1e-2f, 1e-2f, 100 + t));
      if (checked)
        sums.push_back(mem.be.adam_step_checked(p, g, m, v, n, ap));
      else
        mem.be.adam_step(p, g, m, v, n, ap);
    }
    return Outputs{mem.get(m, n), mem.get(v, n), mem.get(p, n)};
  });
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_TRUE(near_all_scaled(got[i], want[i], tol::kAdamRel)) << (i == 0 ? "m" : i == 1 ? "v" : "params");
  EXPECT_NE(got[2], params);
  ASSERT_EQ(sums_got.size(), sums_want.size());
  for (std::size_t t = 0; t < sums_got.size(); ++t)
    EXPECT_NEAR(sums_got[t], sums_want[t], tol::kSumSquaresRel * sums_want[t]) << "step " << t + 1;
}

// On the backend's own data: Σ x² against the reference's sum of the same floats; empty is 0;
// a NaN propagates (the trainer's finiteness check).
inline void sum_squares_case(Backend& be, Backend& ref) {
  const std::size_t n = 100003;
  auto x = random_floats(n, -1, 1, 20);
  Mem mem(be);
  float* d = mem.put(x);
  const double want = ref.sum_squares(x.data(), n);
  EXPECT_NEAR(be.sum_squares(d, n), want, tol::kSumSquaresRel * want);
  EXPECT_EQ(be.sum_squares(d, 0), 0.0);
  x[n / 2] = std::numeric_limits<float>::quiet_NaN();
  be.upload(d, x.data(), n);
  EXPECT_TRUE(std::isnan(be.sum_squares(d, n)));
}

// allocate zero-fills (also n = 0, not null), upload/download round-trip, fill_zero a range.
inline void memory_case(Backend& be, Backend&) {
  Mem mem(be);
  float* d = mem.zeros(1000);
  const auto zeros = mem.get(d, 1000);
  EXPECT_TRUE(std::all_of(zeros.begin(), zeros.end(), [](float v) { return v == 0.0f; }));
  const auto v = random_floats(1000, -1, 1, 20);
  be.upload(d, v.data(), v.size());
  EXPECT_EQ(mem.get(d, 1000), v);
  be.fill_zero(d + 10, 20);
  const auto back = mem.get(d, 1000);
  EXPECT_EQ(back[9], v[9]);
  EXPECT_EQ(back[10], 0.0f);
  EXPECT_EQ(back[29], 0.0f);
  EXPECT_EQ(back[30], v[30]);
  EXPECT_NE(mem.zeros(0), nullptr);
}

}  // namespace detail

// One entry per op of model::Backend.
inline const std::vector<OpCase>& op_cases() {
  using model::Activation;
  using model::Backend;
  static const std::vector<OpCase> cases = {
      {"memory", detail::memory_case},
      {"gemm_small_integers", [](Backend& be, Backend& ref) { detail::gemm_case(be, ref, true); }},
      {"gemm_random", [](Backend& be, Backend& ref) { detail::gemm_case(be, ref, false); }},
      {"linear_forward", detail::linear_forward_case},
      {"bias_activation_forward",
       [](Backend& be, Backend& ref) {
         const int m = 300, n = 77;  // rows not a multiple of a kernel's row groups
         const auto y = random_floats(static_cast<std::size_t>(m) * n, -1, 1, 7);
         const auto bias = random_floats(n, -1, 1, 8);
         for (const Activation act : {Activation::Identity, Activation::Relu}) {
           const auto [got, want] = on_both(be, ref, [&](Mem& mem) {
             float* d = mem.put(y);
             mem.be.bias_activation_forward(d, mem.put(bias), m, n, act);
             return Outputs{mem.get(d, y.size())};
           });
           EXPECT_TRUE(near_all(got[0], want[0], 0, 0)) << "relu " << (act == Activation::Relu);
         }
       }},
      {"activation_backward",
       [](Backend& be, Backend& ref) {
         const int m = 300, n = 77;
         const auto y = random_floats(static_cast<std::size_t>(m) * n, -1, 1, 7);
         const auto dy = random_floats(y.size(), -1, 1, 8);
         for (const Activation act : {Activation::Identity, Activation::Relu}) {
           const auto [got, want] = on_both(be, ref, [&](Mem& mem) {
             float* d = mem.put(dy);
             mem.be.activation_backward(d, mem.put(y), m, n, act);
             return Outputs{mem.get(d, dy.size())};
           });
           EXPECT_TRUE(near_all(got[0], want[0], 0, 0)) << "relu " << (act == Activation::Relu);
         }
       }},
      {"bias_grad",
       [](Backend& be, Backend& ref) {
         const int m = 300, n = 77;
         const auto dy = random_floats(static_cast<std::size_t>(m) * n, -1, 1, 8);
         const auto db = random_floats(n, -1, 1, 9);
         for (const bool accumulate : {false, true}) {
           const auto [got, want] = on_both(be, ref, [&](Mem& mem) {
             float* d = mem.put(db);
             mem.be.bias_grad(mem.put(dy), m, n, d, accumulate);
             return Outputs{mem.get(d, db.size())};
           });
           EXPECT_TRUE(near_all(got[0], want[0], tol::kBiasGradRel, 1e-6)) << "accumulate " << accumulate;
           EXPECT_TRUE(any_nonzero(got[0]));
         }
       }},
      {"dropout_forward", detail::dropout_forward_case},
      {"dropout_backward",
       [](Backend& be, Backend& ref) {
         const int m = 129, n = 301;
         const auto keep = keep_mask(static_cast<std::size_t>(m) * n, 0.2f, 11);
         const auto dy = random_floats(keep.size(), -1, 1, 12);
         const auto [got, want] = on_both(be, ref, [&](Mem& mem) {
           float* d = mem.put(dy);
           mem.be.dropout_backward(d, mem.put(keep), m, n);
           return Outputs{mem.get(d, dy.size())};
         });
         EXPECT_TRUE(near_all(got[0], want[0], 0, 0));
       }},
      {"dropout_activation_backward", detail::dropout_activation_backward_case},
      {"reparameterize", detail::reparameterize_case},
      {"reparameterize_backward", detail::reparameterize_backward_case},
      {"gaussian_loss", detail::gaussian_loss_case},
      {"kl_divergence", detail::kl_divergence_case},
      {"adam_step", [](Backend& be, Backend& ref) { detail::adam_case(be, ref, false); }},
      {"adam_step_checked", [](Backend& be, Backend& ref) { detail::adam_case(be, ref, true); }},
      {"sum_squares", detail::sum_squares_case},
  };
  return cases;
}

// The table's entries by name, for value-parameterised tests.
inline std::vector<std::string> op_case_names() {
  std::vector<std::string> names;
  for (const OpCase& c : op_cases()) names.emplace_back(c.name);
  return names;
}

inline const OpCase& op_case(const std::string& name) {
  for (const OpCase& c : op_cases())
    if (name == c.name) return c;
  throw std::out_of_range("no op case " + name);
}

}  // namespace specvae::parity
