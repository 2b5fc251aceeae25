// Sequential random draws for the simulator on top of the shared counter-based Philox4x32-10
// (specvae/core/rng.hpp): one stream per (survey seed, purpose, object index), so any rank
// or thread can generate any object and the survey does not depend on how work is split.
#pragma once

#include <cmath>
#include <cstdint>

#include "specvae/core/rng.hpp"

namespace specvae::sim {

// What a stream is for. Distinct purposes never share draws, so e.g. changing how noise is
// drawn leaves every object's physical parameters unchanged.
enum class StreamPurpose : std::uint32_t {
  kObject = 1,     // class, redshift, magnitude, physical parameters (sample = object index)
  kNoise = 2,      // pixel noise (sample = object index)
  kDefects = 3,    // cosmic rays (sample = object index)
  kFileGroup = 4,  // per-file instrument state: bad columns, exposure ids (sample = group)
  kSkyLines = 5,   // the fixed sky-line list (sample = 0, seed fixed)
};

// Purpose word of the shared rng's StreamKey reserved for the simulator (outside the
// training/scoring purposes of rng::Purpose).
inline constexpr std::uint32_t kSimulatePurpose = 1024;

// Standard normal by the Marsaglia-Tsang (2000) ziggurat: one 32-bit word per draw on the
// fast path (~99%), which is what makes 8000 noisy pixels per spectrum cheap.
struct ZigguratTables {
  std::uint32_t kn[128];
  float wn[128];
  float fn[128];
  ZigguratTables();
};
const ZigguratTables& ziggurat_tables();

class SimStream {
 public:
  SimStream(std::uint64_t seed, StreamPurpose purpose, std::uint64_t sample)
      : key_{seed, static_cast<std::uint32_t>(purpose), kSimulatePurpose}, sample_(sample) {}

  std::uint32_t next_u32() {
    if (pos_ == 4) {
      block_ = rng::block(key_, sample_, counter_++);
      pos_ = 0;
    }
    return block_.v[pos_++];
  }
  // Uniform in (0, 1) with 53 random bits.
  double uniform() {
    const std::uint32_t hi = next_u32();
    const std::uint32_t lo = next_u32();
    return rng::uniform_open01_double(hi, lo);
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Integer in [0, n).
  std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>((static_cast<std::uint64_t>(next_u32()) * n) >> 32);
  }
  bool bernoulli(double p) { return uniform() < p; }
  float normal() {
    const ZigguratTables& t = *tables_;
    const std::int32_t hz = static_cast<std::int32_t>(next_u32());
    const std::uint32_t iz = static_cast<std::uint32_t>(hz) & 127u;
    const std::uint32_t ahz = hz < 0 ? (hz == INT32_MIN ? 0x80000000u : static_cast<std::uint32_t>(-hz))
                                     : static_cast<std::uint32_t>(hz);
    if (ahz < t.kn[iz]) return static_cast<float>(hz) * t.wn[iz];
    return normal_slow(hz, iz);
  }
  double normal(double mean, double sigma) { return mean + sigma * normal(); }
  // n standard normals: the Philox blocks and the ziggurat fast path run as separate
  // branch-free loops the compiler vectorises; the ~1% of draws that miss the fast path are
  // redone afterwards from the words that follow. Same result for any thread or rank count.
  void normals(float* out, int n);
  // Poisson draw for small means (cosmic-ray counts, absorbers): Knuth's product method.
  int poisson(double mean) {
    const double limit = std::exp(-mean);
    double p = uniform();
    int k = 0;
    while (p > limit && k < 1000) {
      p *= uniform();
      ++k;
    }
    return k;
  }

 private:
  float normal_slow(std::int32_t hz, std::uint32_t iz);

  rng::StreamKey key_;
  std::uint64_t sample_;
  std::uint32_t counter_ = 0;
  rng::Philox4x32 block_{};
  int pos_ = 4;
  const ZigguratTables* tables_ = &ziggurat_tables();
};

}  // namespace specvae::sim
