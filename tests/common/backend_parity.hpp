// Shared by the backend parity tests (CPU and CUDA): seeded inputs, host<->backend copies and
// comparisons that report the worst element (index, both values) rather than the first.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "specvae/model/backend.hpp"

namespace specvae::parity {

inline std::vector<float> random_floats(std::size_t n, float lo, float hi, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(gen);
  return v;
}

// Small integers: products and sums of these are exact in float, so GEMMs must agree bit
// for bit in any summation order (the CUTLASS way of testing).
inline std::vector<float> small_ints(std::size_t n, int lo, int hi, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(u(gen));
  return v;
}

inline float* to_backend(model::Backend& be, const std::vector<float>& host) {
  float* p = be.allocate(host.size());
  be.upload(p, host.data(), host.size());
  return p;
}

inline std::vector<float> from_backend(model::Backend& be, const float* p, std::size_t n) {
  std::vector<float> host(n);
  be.download(host.data(), p, n);
  return host;
}

// |got − want| ≤ abs_tol + rel_tol·|want| element-wise; reports the worst violation.
inline ::testing::AssertionResult near_all(const std::vector<float>& got, const std::vector<float>& want,
                                           double rel_tol, double abs_tol) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << "size " << got.size() << " vs " << want.size();
  double worst = 0;
  std::size_t at = 0;
  bool bad = false;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    const double excess = std::abs(g - w) - (abs_tol + rel_tol * std::abs(w));
    if (std::isnan(g) != std::isnan(w) || excess > 0 || (std::isnan(excess) && !(std::isnan(g) && std::isnan(w)))) {
      if (!bad || excess > worst) {
        worst = excess;
        at = i;
      }
      bad = true;
    }
  }
  if (!bad) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "worst at " << at << ": got " << got[at] << ", want " << want[at]
                                       << " (rel " << rel_tol << ", abs " << abs_tol << ")";
}

// |got − want| ≤ rel_tol · max|want| element-wise: a norm-wise bound, for results that are
// sums whose terms may cancel (their rounding scales with the terms, not the result).
inline ::testing::AssertionResult near_all_scaled(const std::vector<float>& got, const std::vector<float>& want,
                                                  double rel_tol) {
  double scale = 0;
  for (float w : want) scale = std::max(scale, std::abs(static_cast<double>(w)));
  return near_all(got, want, 0, rel_tol * scale);
}

inline bool any_nonzero(const std::vector<float>& v) {
  return std::any_of(v.begin(), v.end(), [](float x) { return x != 0.0f; });
}

inline double rel_norm_diff(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double d = double(got[i]) - want[i];
    num += d * d;
    den += double(want[i]) * want[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

}  // namespace specvae::parity
