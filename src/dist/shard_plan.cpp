// ShardPlan arithmetic.
#include "specvae/dist/shard_plan.hpp"

#include "specvae/core/error.hpp"

namespace specvae {

ShardPlan::ShardPlan(std::int64_t rows, int ranks) : rows_(rows), ranks_(ranks) {
  SPECVAE_CHECK(rows >= 0 && ranks >= 1, "ShardPlan({}, {}) needs rows ≥ 0 and ranks ≥ 1", rows, ranks);
  base_ = rows / ranks;
  extra_ = rows % ranks;
}

std::int64_t ShardPlan::begin(int rank) const {
  SPECVAE_CHECK(rank >= 0 && rank < ranks_, "rank {} outside [0, {})", rank, ranks_);
  return std::int64_t(rank) * base_ + std::min<std::int64_t>(rank, extra_);
}

std::int64_t ShardPlan::count(int rank) const {
  SPECVAE_CHECK(rank >= 0 && rank < ranks_, "rank {} outside [0, {})", rank, ranks_);
  return base_ + (rank < extra_ ? 1 : 0);
}

int ShardPlan::owner(std::int64_t row) const {
  SPECVAE_CHECK(row >= 0 && row < rows_, "row {} outside [0, {})", row, rows_);
  std::int64_t big = extra_ * (base_ + 1);  // rows held by the larger shards
  if (row < big) return int(row / (base_ + 1));
  return int(extra_ + (row - big) / base_);
}

}  // namespace specvae
