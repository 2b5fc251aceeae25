// reduce_scatter_sum and allgather_in_place on chunks of different sizes, the last rank's
// empty: shared by the in-process test and the MPI test. Values are small integers, so the
// sums are exact whatever the order of the additions.
#pragma once

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "specvae/dist/communicator.hpp"

namespace specvae::test {

inline void check_chunk_collectives(Communicator& comm) {
  const int P = comm.size(), r = comm.rank();
  std::vector<std::size_t> counts;
  for (int q = 0; q < P; ++q) counts.push_back(q == P - 1 && P > 1 ? 0 : std::size_t(5 + 3 * q));
  const std::size_t total = std::accumulate(counts.begin(), counts.end(), std::size_t(0));
  const std::size_t first = std::accumulate(counts.begin(), counts.begin() + r, std::size_t(0));
  const std::size_t mine = counts[std::size_t(r)];

  // Rank q contributes (q + 1)·(1 + k mod 7) at position k: the sum is P(P+1)/2·(1 + k mod 7).
  std::vector<float> d(total);
  for (std::size_t k = 0; k < total; ++k) d[k] = float(r + 1) * float(1 + k % 7);
  comm.reduce_scatter_sum(std::span<float>(d), counts);
  for (std::size_t k = first; k < first + mine; ++k)
    EXPECT_EQ(d[k], float(P * (P + 1) / 2) * float(1 + k % 7)) << "rank " << r << ", float " << k;

  // Each rank fills its own chunk; every rank ends with all of them.
  std::vector<float> g(total, -1.0f);
  for (std::size_t k = first; k < first + mine; ++k) g[k] = float(1000 * r) + float(k);
  comm.allgather_in_place(std::span<float>(g), counts);
  std::size_t k = 0;
  for (int q = 0; q < P; ++q)
    for (std::size_t i = 0; i < counts[std::size_t(q)]; ++i, ++k)
      EXPECT_EQ(g[k], float(1000 * q) + float(k)) << "rank " << r << " reading rank " << q << "'s chunk";
}

// alltoallv: rank q sends (q + d) values 100·q + d to rank d, except that the last rank sends
// nothing at all (a rank with no rows); each rank receives them in source-rank order.
inline void check_alltoallv(Communicator& comm) {
  const int P = comm.size(), r = comm.rank();
  std::vector<std::int64_t> send;
  std::vector<std::size_t> counts(std::size_t(P), 0);
  if (r != P - 1 || P == 1)
    for (int d = 0; d < P; ++d) {
      counts[std::size_t(d)] = std::size_t(r + d);
      for (int i = 0; i < r + d; ++i) send.push_back(100 * r + d);
    }
  const std::vector<std::int64_t> got = comm.alltoallv<std::int64_t>(send, counts);
  std::vector<std::int64_t> want;
  for (int q = 0; q < P; ++q)
    if (q != P - 1 || P == 1)
      for (int i = 0; i < q + r; ++i) want.push_back(100 * q + r);
  EXPECT_EQ(got, want) << "rank " << r;
}

}  // namespace specvae::test
