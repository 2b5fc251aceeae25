// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011, as in Random123/cuRAND):
// a draw is a pure function of (key, counter), so results do not depend on thread count,
// rank count or device, and the CPU and a CUDA kernel give the same numbers for the same
// (seed, step, sample). Header-only; usable from host and device code.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define SPECVAE_HD __host__ __device__
#else
#define SPECVAE_HD
#endif

namespace specvae::rng {

struct Philox4x32 {
  std::uint32_t v[4];
};

namespace detail {
// Multipliers and Weyl key increments of Philox4x32 (Random123).
inline constexpr std::uint32_t kM0 = 0xD2511F53u;
inline constexpr std::uint32_t kM1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kW0 = 0x9E3779B9u;
inline constexpr std::uint32_t kW1 = 0xBB67AE85u;

SPECVAE_HD inline void mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
}
}  // namespace detail

// Ten rounds of Philox4x32 on counter c with key (k0, k1).
SPECVAE_HD inline Philox4x32 philox4x32(Philox4x32 c, std::uint32_t k0, std::uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    detail::mulhilo(detail::kM0, c.v[0], hi0, lo0);
    detail::mulhilo(detail::kM1, c.v[2], hi1, lo1);
    c = Philox4x32{{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
    k0 += detail::kW0;
    k1 += detail::kW1;
  }
  return c;
}

// Uniform in (0, 1]: the top 24 bits, offset by half a step so 0 never occurs (log-safe). In
// float the half step survives only below 2^23, so the top draws round up to even steps and
// the largest to exactly 1 (harmless for log and Box–Muller; the same on host and device).
SPECVAE_HD inline float uniform_open01(std::uint32_t bits) {
  return (static_cast<float>(bits >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

// Uniform in (0, 1) with 53 bits from two words (for host-side double draws).
SPECVAE_HD inline double uniform_open01_double(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t bits = (static_cast<std::uint64_t>(hi) << 21) ^ (lo >> 11);
  return (static_cast<double>(bits & ((1ull << 53) - 1)) + 0.5) * (1.0 / 9007199254740992.0);
}

// A stream of draws keyed by (seed, step, purpose) and addressed by (sample, element):
// counter = {element / 4, sample low 32 bits, sample high 16 bits | purpose << 16, step}.
// Four consecutive elements share one Philox block; each element takes its own word.
struct StreamKey {
  std::uint64_t seed = 0;
  std::uint32_t step = 0;     // optimiser step (or epoch for per-epoch streams)
  std::uint32_t purpose = 0;  // what the draws are for (see Purpose); < 65536
};

// Purposes: distinct streams for each use so no two uses share draws.
enum Purpose : std::uint32_t {
  kInit = 1,           // weight initialisation (sample = layer index)
  kShuffle = 2,        // epoch permutation
  kDropoutBase = 16,   // dropout of layer l uses kDropoutBase + l
  kNoise = 64,         // reparameterisation noise (training)
  kValNoise = 65,      // reparameterisation noise (validation)
  kScoreNoise = 66,    // reconstruction-probability samples in `score`
};

// The Philox counter of (sample, element_block) in a stream; the key words are the seed's.
SPECVAE_HD inline Philox4x32 counter(const StreamKey& key, std::uint64_t sample, std::uint32_t element_block) {
  return Philox4x32{{element_block, static_cast<std::uint32_t>(sample),
                     static_cast<std::uint32_t>((sample >> 32) & 0xFFFFu) | (key.purpose << 16), key.step}};
}

SPECVAE_HD inline Philox4x32 block(const StreamKey& key, std::uint64_t sample, std::uint32_t element_block) {
  return philox4x32(counter(key, sample, element_block), static_cast<std::uint32_t>(key.seed),
                    static_cast<std::uint32_t>(key.seed >> 32));
}

// The uniform (0,1) draw for (sample, element) of a stream.
SPECVAE_HD inline float uniform(const StreamKey& key, std::uint64_t sample, std::uint32_t element) {
  return uniform_open01(block(key, sample, element >> 2).v[element & 3u]);
}

// A 16-bit uniform draw for (sample, element): each Philox block serves eight elements (two
// per word), halving the generator's cost where 2⁻¹⁶ resolution is plenty (dropout masks).
SPECVAE_HD inline std::uint32_t bits16(const Philox4x32& b, std::uint32_t element) {
  return (b.v[(element >> 1) & 3u] >> ((element & 1u) * 16u)) & 0xFFFFu;
}
// Keep threshold for dropout at `rate`: keep an element when bits16 ≥ threshold.
SPECVAE_HD inline std::uint32_t dropout_threshold(float rate) {
  return static_cast<std::uint32_t>(rate * 65536.0f + 0.5f);
}

// Standard normal for (sample, element) by Box-Muller on the words of one block: elements
// 2j and 2j+1 share a pair of uniforms (cos and sin branches), so each is a pure function
// of its address.
SPECVAE_HD inline float normal(const StreamKey& key, std::uint64_t sample, std::uint32_t element) {
  const Philox4x32 b = block(key, sample, element >> 1);
  const float u1 = uniform_open01(b.v[0]);
  const float u2 = uniform_open01(b.v[1]);
  const float r = sqrtf(-2.0f * logf(u1));
  const float angle = 6.2831853071795864769f * u2;
  return (element & 1u) ? r * sinf(angle) : r * cosf(angle);
}

// A bijection of [0, n) keyed by (seed, round_key): a 4-round Feistel network on the
// smallest even number of bits covering n, with cycle walking back into range. Lets every
// rank compute any position of an epoch permutation in O(1) memory.
class FeistelPermutation {
 public:
  FeistelPermutation(std::uint64_t n, std::uint64_t seed, std::uint32_t round_key) : n_(n), seed_(seed), round_key_(round_key) {
    int bits = 2;
    while (bits < 64 && (std::uint64_t{1} << bits) < n) bits += 2;
    half_bits_ = bits / 2;
    half_mask_ = (std::uint64_t{1} << half_bits_) - 1;
  }
  std::uint64_t size() const { return n_; }
  std::uint64_t operator()(std::uint64_t i) const {
    std::uint64_t x = i;
    do { x = encrypt(x); } while (x >= n_);
    return x;
  }

 private:
  std::uint64_t encrypt(std::uint64_t x) const {
    std::uint64_t left = x >> half_bits_, right = x & half_mask_;
    for (std::uint32_t r = 0; r < 4; ++r) {
      const StreamKey key{seed_, round_key_, kShuffle};
      const Philox4x32 b = block(key, right, r);
      const std::uint64_t f = ((static_cast<std::uint64_t>(b.v[0]) << 32) | b.v[1]) & half_mask_;
      const std::uint64_t next = left ^ f;
      left = right;
      right = next;
    }
    return (left << half_bits_) | right;
  }
  std::uint64_t n_, seed_;
  std::uint32_t round_key_;
  int half_bits_ = 1;
  std::uint64_t half_mask_ = 1;
};

}  // namespace specvae::rng
