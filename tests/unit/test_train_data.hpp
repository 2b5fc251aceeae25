// Synthetic rows for trainer tests: smooth spectra defined by their global row index (so any
// shard of them is the same data), with ivar weights, some masked bins and a 75/25 split.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "specvae/core/config.hpp"
#include "specvae/io/dataset.hpp"

namespace specvae::test {

inline DatasetRows synthetic_rows(std::int64_t begin, std::int64_t count, int bins) {
  DatasetRows r;
  r.resize(count, bins);
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t g = begin + i;
    const double a = 0.5 + 0.4 * std::sin(0.37 * static_cast<double>(g)), f = 1.0 + static_cast<double>(g % 7) * 0.3;
    for (int j = 0; j < bins; ++j) {
      const std::size_t k = static_cast<std::size_t>(i) * bins + j;
      r.flux[k] = static_cast<float>((a * std::sin(f * j / bins * 6.28) + 0.2 * std::cos(3.0 * j / bins)) / std::sqrt(bins));
      r.ivar[k] = static_cast<float>(5000.0 + 1000.0 * ((g + j) % 5));  // signal well above the noise
      r.mask[k] = static_cast<std::uint8_t>((g * 13 + j) % 17 == 0);
    }
    r.targetid[static_cast<std::size_t>(i)] = 1000 + g;
    r.z[static_cast<std::size_t>(i)] = 0.1;
    r.spectype[static_cast<std::size_t>(i)] = g % 10 == 9 ? "STAR" : "GALAXY";
    r.snr[static_cast<std::size_t>(i)] = 10.0f;
    r.split[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(g % 4 == 3);
    r.ra[static_cast<std::size_t>(i)] = 150.0;
    r.dec[static_cast<std::size_t>(i)] = 2.0;
  }
  r.begin = begin;
  return r;
}

// A small model and batch so a test trains in well under a second per epoch.
// The CPU backend whatever the machine has: these tests pin down the CPU path's semantics
// (sharded Adam, bitwise determinism); the CUDA backend has its own parity tests.
inline Config small_train_config(int epochs) {
  Config c = Config::defaults();
  c.set("train.backend=cpu");
  c.set("model.n_input=16");
  c.set("model.encoder_layers=[12, 8]");
  c.set("model.latent_dim=3");
  c.set("model.decoder_layers=[8, 12]");
  c.set("train.batch_size=40");
  c.set("train.threads=1");
  c.set("train.plateau_patience=2");
  c.set("train.epochs=" + std::to_string(epochs));
  c.set("train.min_steps=0");   // exactly `epochs`
  c.set("model.dropout=0.2");   // the dropout paths stay exercised
  return c;
}

}  // namespace specvae::test
