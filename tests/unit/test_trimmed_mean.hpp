// trimmed_mean against a sort of all the values on one process, with ties at the cut, negative
// values, signed zeros and the last rank holding nothing: shared by the in-process test and the
// MPI test. Each rank draws its values from the same seeded stream, so every rank knows them all.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "specvae/dist/communicator.hpp"
#include "specvae/dist/trimmed_mean.hpp"

namespace specvae::test {

// The reference: sort everything, keep the n − ⌊trim·n⌋ smallest.
inline double sorted_trimmed_mean(std::vector<double> all, double trim) {
  std::sort(all.begin(), all.end());
  const std::size_t kept = all.size() - static_cast<std::size_t>(std::floor(trim * double(all.size())));
  return std::accumulate(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(kept), 0.0) / double(kept);
}

inline void check_trimmed_mean(Communicator& comm) {
  const int P = comm.size(), r = comm.rank();
  for (const int n : {1, 7, 100, 1003}) {
    std::mt19937_64 gen(static_cast<std::uint64_t>(n));
    std::lognormal_distribution<double> heavy(0.0, 2.0);  // a tail like per-spectrum losses
    std::vector<double> all(static_cast<std::size_t>(n));
    for (auto& v : all) v = heavy(gen) * 1e3;
    if (n >= 100) {
      for (int i = 0; i < 10; ++i) all[std::size_t(3 * i)] = all[0];  // ties, some at the cut
      all[1] = -5.0;
      all[2] = -0.0;
      all[4] = 0.0;
    }
    // Contiguous pieces; the last rank of several holds nothing.
    const int holders = P > 1 ? P - 1 : 1;
    const std::size_t per = (all.size() + std::size_t(holders) - 1) / std::size_t(holders);
    const std::size_t b = std::min(all.size(), per * std::size_t(r)), e = r < holders ? std::min(all.size(), b + per) : b;
    const std::vector<double> mine(all.begin() + std::ptrdiff_t(b), all.begin() + std::ptrdiff_t(e));
    for (const double trim : {0.0, 0.01, 0.03, 0.1, 0.5}) {
      const TrimmedMean t = trimmed_mean(comm, mine, trim);
      const double want = sorted_trimmed_mean(all, trim);
      EXPECT_NEAR(t.mean, want, 1e-12 * std::abs(want) + 1e-300) << "n " << n << " trim " << trim << " rank " << r;
      const std::int64_t kept = n - std::int64_t(std::floor(trim * n));
      EXPECT_EQ(t.kept, kept);
      std::vector<double> s = all;
      std::sort(s.begin(), s.end());
      EXPECT_EQ(t.threshold, s[std::size_t(kept - 1)]) << "n " << n << " trim " << trim;
    }
  }
  // Trimming nothing gives the plain mean; no values at all gives NaN with nothing kept.
  const std::vector<double> one = {double(r + 1)};
  EXPECT_DOUBLE_EQ(trimmed_mean(comm, one, 0.0).mean, double(P + 1) / 2.0);
  const TrimmedMean none = trimmed_mean(comm, std::span<const double>(), 0.01);
  EXPECT_EQ(none.kept, 0);
  EXPECT_TRUE(std::isnan(none.mean));
}

}  // namespace specvae::test
