// How N rows are split over P ranks: contiguous, balanced (sizes differ by at most one, the
// larger shards first), ranks with zero rows allowed when N < P. Pure arithmetic, no MPI.
#pragma once

#include <cstdint>

namespace specvae {

class ShardPlan {
 public:
  ShardPlan(std::int64_t rows, int ranks);

  std::int64_t rows() const { return rows_; }
  int ranks() const { return ranks_; }
  std::int64_t begin(int rank) const;
  std::int64_t count(int rank) const;
  std::int64_t end(int rank) const { return begin(rank) + count(rank); }
  // The rank owning a row (0 ≤ row < rows()).
  int owner(std::int64_t row) const;

 private:
  std::int64_t rows_;
  int ranks_;
  std::int64_t base_;   // rows every rank gets
  std::int64_t extra_;  // the first `extra_` ranks get one more
};

}  // namespace specvae
