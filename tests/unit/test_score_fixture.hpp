// A small synthetic dataset and an untrained small VAE for score tests: spectra that are a
// few smooth components plus noise, some masked bins, and a handful of odd spectra.
#pragma once

#include <cmath>
#include <random>

#include "specvae/io/dataset.hpp"
#include "specvae/model/vae.hpp"

namespace specvae::score_test {

inline DatasetRows small_rows(std::int64_t begin, std::int64_t count, int bins, unsigned seed = 11) {
  DatasetRows r;
  r.begin = begin;
  r.resize(count, bins);
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t g = begin + i;  // values depend on the global row only
    std::mt19937 gen(static_cast<unsigned>(seed * 1000003u + g));
    std::normal_distribution<float> noise(0, 0.02f);
    const float a = 1.0f + 0.1f * static_cast<float>(g % 7), b = 0.3f * static_cast<float>(g % 3);
    for (int j = 0; j < bins; ++j) {
      const float t = static_cast<float>(j) / static_cast<float>(bins);
      float x = a * (0.5f + 0.5f * t) + b * std::sin(6.0f * t) + noise(gen);
      if (g % 17 == 5) x += (j % 4 == 0) ? 2.0f : 0.0f;  // odd spectra
      r.flux[i * bins + j] = x / std::sqrt(static_cast<float>(bins));
      r.ivar[i * bins + j] = 50.0f + static_cast<float>((g + j) % 13);
      r.mask[i * bins + j] = ((g + 3 * j) % 29 == 0) ? 1 : 0;
    }
    r.targetid[i] = 39627000000000000 + 7 * g;
    r.z[i] = 0.05 + 0.001 * static_cast<double>(g);
    r.spectype[i] = g % 11 == 0 ? "STAR" : "GALAXY";
    r.snr[i] = 8.0f + static_cast<float>(g % 9);
    r.split[i] = g % 4 == 0;
    r.ra[i] = 180.0 + 0.01 * static_cast<double>(g);
    r.dec[i] = 30.0 - 0.01 * static_cast<double>(g);
  }
  return r;
}

inline model::VaeShape small_shape(int bins) {
  model::VaeShape s;
  s.n_input = bins;
  s.encoder = {24, 12};
  s.latent = 3;
  s.decoder = {12, 24};
  s.dropout = 0.2f;
  return s;
}

}  // namespace specvae::score_test
