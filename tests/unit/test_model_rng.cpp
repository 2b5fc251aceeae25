// Philox4x32-10 against the Random123 known-answer vectors, the statistics of its uniform
// and normal draws, and the Feistel epoch permutation being a bijection.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "specvae/core/rng.hpp"

using namespace specvae::rng;

TEST(Philox, KnownAnswerVectors) {
  // Random123 kat_vectors: philox4x32 10 rounds.
  Philox4x32 zero = philox4x32(Philox4x32{{0, 0, 0, 0}}, 0, 0);
  EXPECT_EQ(zero.v[0], 0x6627e8d5u);
  EXPECT_EQ(zero.v[1], 0xe169c58du);
  EXPECT_EQ(zero.v[2], 0xbc57ac4cu);
  EXPECT_EQ(zero.v[3], 0x9b00dbd8u);
  Philox4x32 ones = philox4x32(Philox4x32{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu);
  EXPECT_EQ(ones.v[0], 0x408f276du);
  EXPECT_EQ(ones.v[1], 0x41c83b0eu);
  EXPECT_EQ(ones.v[2], 0xa20bc7c6u);
  EXPECT_EQ(ones.v[3], 0x6d5451fdu);
  Philox4x32 pi = philox4x32(Philox4x32{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u);
  EXPECT_EQ(pi.v[0], 0xd16cfe09u);
  EXPECT_EQ(pi.v[1], 0x94fdccebu);
  EXPECT_EQ(pi.v[2], 0x5001e420u);
  EXPECT_EQ(pi.v[3], 0x24126ea1u);
}

TEST(Philox, UniformAndNormalMoments) {
  const StreamKey key{42, 7, kNoise};
  double su = 0, sn = 0, sn2 = 0;
  const int n = 200000;
  float umin = 1, umax = 0;
  for (int i = 0; i < n; ++i) {
    const float u = uniform(key, static_cast<std::uint64_t>(i / 10), static_cast<std::uint32_t>(i % 10));
    const float z = normal(key, static_cast<std::uint64_t>(i / 10), static_cast<std::uint32_t>(i % 10));
    su += u;
    sn += z;
    sn2 += static_cast<double>(z) * z;
    umin = std::min(umin, u);
    umax = std::max(umax, u);
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_GT(umin, 0.0f);
  EXPECT_LT(umax, 1.0f);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.02);
  // Different steps and purposes give different draws.
  EXPECT_NE(uniform(StreamKey{42, 7, kNoise}, 3, 1), uniform(StreamKey{42, 8, kNoise}, 3, 1));
  EXPECT_NE(uniform(StreamKey{42, 7, kNoise}, 3, 1), uniform(StreamKey{42, 7, kValNoise}, 3, 1));
}

TEST(FeistelPermutation, IsABijectionAndDependsOnKey) {
  for (std::uint64_t n : {1ull, 2ull, 3ull, 17ull, 1000ull, 4097ull}) {
    const FeistelPermutation p(n, 5, 1);
    std::vector<int> seen(n, 0);
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t j = p(i);
      ASSERT_LT(j, n);
      ++seen[j];
    }
    for (std::uint64_t i = 0; i < n; ++i) EXPECT_EQ(seen[i], 1) << "n=" << n;
  }
  const FeistelPermutation a(1000, 5, 1), b(1000, 5, 2);
  int same = 0, fixed = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    same += a(i) == b(i);
    fixed += a(i) == i;
  }
  EXPECT_LT(same, 20);
  EXPECT_LT(fixed, 20);
}
