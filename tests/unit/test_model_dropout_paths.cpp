// Both implementations of the CPU dropout masks (scalar, and AVX-512 where the CPU has it)
// draw exactly rng::block + rng::bits16 per element, whichever one this machine dispatches to.
#include <gtest/gtest.h>

#include <vector>

#include "cpu_backend.hpp"
#include "specvae/core/rng.hpp"

using namespace specvae;

namespace {
// The definition: one Philox block per 8 elements, 16 bits per element.
void expected(std::vector<float>& y, std::vector<float>& keep, const rng::StreamKey& key, std::uint64_t sample,
              float rate) {
  const float scale = 1.0f / (1.0f - rate);
  for (std::size_t j = 0; j < y.size(); ++j) {
    const rng::Philox4x32 b = rng::block(key, sample, static_cast<std::uint32_t>(j) >> 3);
    keep[j] = rng::bits16(b, static_cast<std::uint32_t>(j)) >= rng::dropout_threshold(rate) ? scale : 0.0f;
    y[j] *= keep[j];
  }
}
}  // namespace

TEST(DropoutPaths, ScalarAndAvx512MatchTheDefinition) {
  const rng::StreamKey key{0xFEDCBA9876543210ull, 4242, rng::kDropoutBase + 2};
  const float rate = 0.2f;
  for (int n : {1, 7, 8, 127, 128, 129, 1000}) {
    for (std::uint64_t sample : {std::uint64_t{0}, std::uint64_t{123456789}, (std::uint64_t{0xBEEF} << 32) | 77u}) {
      std::vector<float> y_ref(static_cast<std::size_t>(n)), k_ref(y_ref.size());
      for (int j = 0; j < n; ++j) y_ref[static_cast<std::size_t>(j)] = 0.5f + 0.001f * static_cast<float>(j);
      std::vector<float> y_s = y_ref, y_v = y_ref, k_s(y_ref.size()), k_v(y_ref.size());
      expected(y_ref, k_ref, key, sample, rate);
      const rng::Philox4x32 ctr = rng::counter(key, sample, 0);
      const auto c1 = ctr.v[1], c2 = ctr.v[2];
      const auto k0 = static_cast<std::uint32_t>(key.seed), k1 = static_cast<std::uint32_t>(key.seed >> 32);
      const float scale = 1.0f / (1.0f - rate);
      model::detail::dropout_row_scalar(y_s.data(), k_s.data(), n, c1, c2, key.step, k0, k1, rng::dropout_threshold(rate), scale);
      EXPECT_EQ(k_s, k_ref) << "scalar, n " << n << ", sample " << sample;
      EXPECT_EQ(y_s, y_ref) << "scalar, n " << n;
      if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) continue;
      model::detail::dropout_row_avx512(y_v.data(), k_v.data(), n, c1, c2, key.step, k0, k1, rng::dropout_threshold(rate), scale);
      EXPECT_EQ(k_v, k_ref) << "AVX-512, n " << n << ", sample " << sample;
      EXPECT_EQ(y_v, y_ref) << "AVX-512, n " << n;
    }
  }
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw"))
    GTEST_SKIP() << "scalar path checked; this CPU has no AVX-512 (F + BW) for the other";
}
