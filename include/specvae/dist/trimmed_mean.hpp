// The mean of a distributed set of values with the largest ones left out, exactly: each rank
// holds some of the values (possibly none); the result is the mean of the n − k smallest of
// all n values, k = ⌊trim·n⌋, the same on every rank and for any split of the values over
// ranks (to the rounding of the final sums). Used to monitor the validation loss without the
// handful of anomalous spectra that would otherwise set it.
#pragma once

#include <cstdint>
#include <span>

#include "specvae/dist/communicator.hpp"

namespace specvae {

struct TrimmedMean {
  double mean = 0;         // NaN when no value is kept
  std::int64_t kept = 0;   // n − k
  double threshold = 0;    // the largest kept value
};

// Collective: every rank calls it with its own values. trim in [0, 1). Values must not be NaN.
// Cost: one all-reduce of one integer per bit of a double (64), then one of two numbers;
// no rank holds more than its own values.
TrimmedMean trimmed_mean(Communicator& comm, std::span<const double> local, double trim);

}  // namespace specvae
