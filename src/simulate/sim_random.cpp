// Ziggurat tables and the slow path of the simulator's normal draws (Marsaglia & Tsang 2000,
// "The Ziggurat Method for Generating Random Variables", J. Stat. Softw. 5(8), 128 layers).
#include "specvae/simulate/sim_random.hpp"

#include <vector>

namespace specvae::sim {

ZigguratTables::ZigguratTables() {
  // dn: right edge of the base layer; vn: area of each layer (from the paper).
  const double m1 = 2147483648.0;
  double dn = 3.442619855899, tn = dn;
  const double vn = 9.91256303526217e-3;
  const double q = vn / std::exp(-0.5 * dn * dn);
  kn[0] = static_cast<std::uint32_t>((dn / q) * m1);
  kn[1] = 0;
  wn[0] = static_cast<float>(q / m1);
  wn[127] = static_cast<float>(dn / m1);
  fn[0] = 1.0f;
  fn[127] = static_cast<float>(std::exp(-0.5 * dn * dn));
  for (int i = 126; i >= 1; --i) {
    dn = std::sqrt(-2.0 * std::log(vn / dn + std::exp(-0.5 * dn * dn)));
    kn[i + 1] = static_cast<std::uint32_t>((dn / tn) * m1);
    tn = dn;
    fn[i] = static_cast<float>(std::exp(-0.5 * dn * dn));
    wn[i] = static_cast<float>(dn / m1);
  }
}

const ZigguratTables& ziggurat_tables() {
  static const ZigguratTables tables;
  return tables;
}

float SimStream::normal_slow(std::int32_t hz, std::uint32_t iz) {
  const ZigguratTables& t = *tables_;
  const double r = 3.442620;  // start of the tail
  for (;;) {
    double x = static_cast<double>(hz) * t.wn[iz];
    if (iz == 0) {  // the tail beyond r, by Marsaglia's exponential method
      double y;
      do {
        x = -std::log(uniform()) * (1.0 / r);
        y = -std::log(uniform());
      } while (y + y < x * x);
      return static_cast<float>(hz > 0 ? r + x : -r - x);
    }
    if (t.fn[iz] + uniform() * (t.fn[iz - 1] - t.fn[iz]) < std::exp(-0.5 * x * x)) return static_cast<float>(x);
    hz = static_cast<std::int32_t>(next_u32());
    iz = static_cast<std::uint32_t>(hz) & 127u;
    const std::uint32_t ahz = hz < 0 ? (hz == INT32_MIN ? 0x80000000u : static_cast<std::uint32_t>(-hz))
                                     : static_cast<std::uint32_t>(hz);
    if (ahz < t.kn[iz]) return static_cast<float>(hz) * t.wn[iz];
  }
}

void SimStream::normals(float* out, int n) {
  const ZigguratTables& t = *tables_;
  const int nblocks = (n + 3) / 4;
  thread_local std::vector<std::uint32_t> words;
  words.resize(static_cast<std::size_t>(nblocks) * 4);
  std::uint32_t* w = words.data();
  for (int b = 0; b < nblocks; ++b) {
    const rng::Philox4x32 r = rng::block(key_, sample_, counter_ + static_cast<std::uint32_t>(b));
    w[4 * b] = r.v[0];
    w[4 * b + 1] = r.v[1];
    w[4 * b + 2] = r.v[2];
    w[4 * b + 3] = r.v[3];
  }
  counter_ += static_cast<std::uint32_t>(nblocks);
  pos_ = 4;
  thread_local std::vector<std::uint8_t> miss;
  miss.resize(static_cast<std::size_t>(n));
  int misses = 0;
  for (int i = 0; i < n; ++i) {
    const std::int32_t hz = static_cast<std::int32_t>(w[i]);
    const std::uint32_t iz = w[i] & 127u;
    const std::uint32_t ahz = static_cast<std::uint32_t>(hz < 0 ? -static_cast<std::int64_t>(hz) : hz);
    const bool fast = ahz < t.kn[iz];
    out[i] = static_cast<float>(hz) * t.wn[iz];
    miss[static_cast<std::size_t>(i)] = fast ? 0 : 1;
    misses += fast ? 0 : 1;
  }
  if (misses == 0) return;
  // The wedges and the tail, as in the sequential algorithm (further words come from the
  // stream after the bulk blocks).
  for (int i = 0; i < n; ++i)
    if (miss[static_cast<std::size_t>(i)] != 0)
      out[i] = normal_slow(static_cast<std::int32_t>(w[i]), w[i] & 127u);
}

}  // namespace specvae::sim
