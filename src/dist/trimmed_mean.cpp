#include "specvae/dist/trimmed_mean.hpp"

#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "specvae/core/error.hpp"

namespace specvae {
namespace {

// A key with the order of the doubles: flip all bits of negatives, the sign bit of the rest.
std::uint64_t order_key(double v) {
  const auto b = std::bit_cast<std::uint64_t>(v);
  return (b >> 63) != 0 ? ~b : b | (std::uint64_t{1} << 63);
}

double from_key(std::uint64_t k) {
  return std::bit_cast<double>((k >> 63) != 0 ? k & ~(std::uint64_t{1} << 63) : ~k);
}

}  // namespace

TrimmedMean trimmed_mean(Communicator& comm, std::span<const double> local, double trim) {
  SPECVAE_CHECK(trim >= 0 && trim < 1, "trimmed_mean: trim must be in [0, 1), got {}", trim);
  std::vector<std::uint64_t> keys(local.size());
  for (std::size_t i = 0; i < local.size(); ++i) {
    SPECVAE_CHECK(!std::isnan(local[i]), "trimmed_mean: value {} of rank {} is NaN", i, comm.rank());
    keys[i] = order_key(local[i]);
  }
  std::int64_t n = static_cast<std::int64_t>(local.size());
  comm.allreduce_sum(std::span<std::int64_t>(&n, 1));
  TrimmedMean r;
  r.kept = n - static_cast<std::int64_t>(std::floor(trim * static_cast<double>(n)));
  if (r.kept <= 0) {
    r.mean = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  // The smallest key t with count(key ≤ t) ≥ kept, bit by bit from the top: the kept-th
  // smallest value, identical on every rank.
  std::uint64_t t = 0;
  for (int bit = 63; bit >= 0; --bit) {
    const std::uint64_t below = t | ((std::uint64_t{1} << bit) - 1);  // t with this bit 0, lower bits 1
    std::int64_t count = 0;
    for (const std::uint64_t k : keys) count += k <= below ? 1 : 0;
    comm.allreduce_sum(std::span<std::int64_t>(&count, 1));
    if (count < r.kept) t |= std::uint64_t{1} << bit;
  }
  r.threshold = from_key(t);
  // Σ of the values below the threshold, plus as many copies of it as are needed to reach kept.
  double sums[2] = {0, 0};  // Σ values below, how many
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (keys[i] < t) {
      sums[0] += local[i];
      sums[1] += 1;
    }
  comm.allreduce_sum(std::span<double>(sums, 2));
  r.mean = (sums[0] + (static_cast<double>(r.kept) - sums[1]) * r.threshold) / static_cast<double>(r.kept);
  return r;
}

}  // namespace specvae
