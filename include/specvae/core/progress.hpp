// Progress of a long loop on the log: done / total, rate and time left, at most every
// `interval` seconds (log::info, so rank 0 unless every rank logs). A stage that splits its
// work evenly over ranks reports rank 0's share, which stands for the whole.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include "specvae/core/log.hpp"

namespace specvae {

class Progress {
 public:
  Progress(std::string what, std::string unit, std::int64_t total, double interval_s = 10.0)
      : what_(std::move(what)), unit_(std::move(unit)), total_(total), interval_(interval_s),
        start_(Clock::now()), last_(start_) {}

  void advance(std::int64_t n) {
    done_ += n;
    const auto now = Clock::now();
    if (seconds(last_, now) < interval_ || done_ >= total_) return;
    last_ = now;
    const double elapsed = seconds(start_, now), rate = static_cast<double>(done_) / std::max(elapsed, 1e-9);
    log::info("{} {} of {} {} ({:.0f}%), {:.0f} {}/s, about {:.0f} s left", what_, done_, total_, unit_,
              100.0 * static_cast<double>(done_) / static_cast<double>(std::max<std::int64_t>(total_, 1)), rate, unit_,
              static_cast<double>(total_ - done_) / std::max(rate, 1e-9));
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }
  std::string what_, unit_;
  std::int64_t total_ = 0, done_ = 0;
  double interval_ = 10;
  Clock::time_point start_, last_;
};

}  // namespace specvae
