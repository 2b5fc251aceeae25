// Prepares `specvae merge` at catalogue scale: P score shards that together cover N rows, as P
// ranks of `specvae score` would write them (10-d latent moments, three scores with ties and a
// few NaN, SPECTYPE strings). bench/merge_scale.sh then times `specvae merge` on them and the
// same job done by hand with numpy/h5py/astropy.
// Run: build/bench/bench_merge N P OUT_DIR
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "specvae/score/score_shard.hpp"

using namespace specvae;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s N P OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::int64_t n = std::atoll(argv[1]);
  const std::int64_t p = std::atoll(argv[2]);
  const fs::path out = argv[3];
  if (n < 1 || p < 1) {
    std::fprintf(stderr, "N and P must be positive\n");
    return 2;
  }
  fs::create_directories(out);
  constexpr int kLatent = 10;
  for (std::int64_t r = 0; r < p; ++r) {
    const std::int64_t begin = n * r / p, count = n * (r + 1) / p - begin;
    std::mt19937_64 gen(static_cast<std::uint64_t>(1000 + r));
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> uni;
    score::ScoreShard s;
    s.row_begin = begin;
    s.row_count = count;
    s.n_total_rows = n;
    s.rank = r;
    s.ranks = p;
    s.latent = kLatent;
    s.lof_k = 20;
    s.recon_samples = 8;
    s.dataset_hash = "bench-merge-" + std::to_string(n);
    s.model_hash = "bench-model";
    s.config_hash = "bench";
    s.code_version = "bench";
    s.dataset_path = "dataset.h5";
    s.checkpoint_path = "checkpoint-best.h5";
    s.knn_method = "bench";
    const auto uc = static_cast<std::size_t>(count);
    s.targetid.resize(uc);
    s.ra.resize(uc);
    s.dec.resize(uc);
    s.z.resize(uc);
    s.spectype.resize(uc);
    s.snr.resize(uc);
    s.split.resize(uc);
    s.mse.resize(uc);
    s.recon_logprob.resize(uc);
    s.nof.resize(uc);
    s.latent_mu.resize(uc * kLatent);
    s.latent_logvar.resize(uc * kLatent);
    for (std::size_t i = 0; i < uc; ++i) {
      const std::int64_t row = begin + static_cast<std::int64_t>(i);
      s.targetid[i] = 39627000000000000LL + row * 7;
      s.ra[i] = 360.0 * uni(gen);
      s.dec[i] = -20.0 + 100.0 * uni(gen);
      s.z[i] = 0.3 * uni(gen);
      const double u = uni(gen);
      s.spectype[i] = u < 0.015 ? "STAR" : (u < 0.022 ? "QSO" : "GALAXY");
      s.snr[i] = static_cast<float>(5.0 + 20.0 * uni(gen));
      s.split[i] = row % 4 == 3;
      // Log-normal MSE rounded to 3 decimals (ties), NaN for one row in 100,000.
      s.mse[i] = row % 100000 == 17 ? std::nan("") : std::round(1000.0 * std::exp(0.5 + 0.6 * normal(gen))) / 1000.0;
      s.recon_logprob[i] = -500.0 * s.mse[i] + normal(gen);
      s.nof[i] = -1.0 - std::abs(0.2 * normal(gen));
      for (int j = 0; j < kLatent; ++j) {
        s.latent_mu[i * kLatent + j] = static_cast<float>(normal(gen));
        s.latent_logvar[i * kLatent + j] = static_cast<float>(-4.0 + 0.3 * normal(gen));
      }
    }
    score::write_score_shard(score::score_shard_path(out, r), s);
  }
  std::printf("wrote %lld shards of %lld rows in all to %s\n", static_cast<long long>(p), static_cast<long long>(n),
              out.string().c_str());
  return 0;
}
