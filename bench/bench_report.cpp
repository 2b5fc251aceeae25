// Prepares a scored run of N spectra for timing `specvae report` at catalogue scale (see
// bench/report_scale.sh): dataset.h5 (N rows of `bins` bins), a small model's checkpoint and
// metrics.jsonl, score shards with that model's Eq. 6, reconstruction log-probability and
// latent moments (the NOF column is a cheap stand-in: −1 − |μ|/10, since LOF at this N is
// `specvae score`'s work, not the report's), and the merged catalogue.
// Usage: bench_report N BINS OUT_DIR
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "specvae/core/config.hpp"
#include "specvae/io/dataset.hpp"
#include "specvae/merge/merge.hpp"
#include "specvae/model/backend.hpp"
#include "specvae/model/vae.hpp"
#include "specvae/score/score.hpp"
#include "specvae/score/score_shard.hpp"

using namespace specvae;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s N BINS OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::int64_t n = std::atoll(argv[1]);
  const int bins = std::atoi(argv[2]);
  const fs::path out = argv[3];
  fs::remove_all(out);
  fs::create_directories(out / "train");
  const auto t0 = std::chrono::steady_clock::now();
  const auto secs = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };

  DatasetRows rows;
  rows.resize(n, bins);
  for (std::int64_t i = 0; i < n; ++i) {
    std::mt19937 gen(static_cast<unsigned>(i));
    std::normal_distribution<float> noise(0, 0.02f);
    const float a = 1.0f + 0.1f * static_cast<float>(i % 7), b = 0.3f * static_cast<float>(i % 3);
    for (int j = 0; j < bins; ++j) {
      const float t = static_cast<float>(j) / static_cast<float>(bins);
      rows.flux[i * bins + j] = (a * (0.5f + 0.5f * t) + b * std::sin(6.0f * t) + noise(gen)) / std::sqrt(static_cast<float>(bins));
      rows.ivar[i * bins + j] = 2500.0f;
      rows.mask[i * bins + j] = (i + j) % 97 == 0;
    }
    rows.targetid[i] = 39627000000000000 + i;
    rows.z[i] = 0.01 + 0.29 * static_cast<double>(i % 1000) / 1000.0;
    rows.spectype[i] = i % 50 == 0 ? "STAR" : (i % 140 == 0 ? "QSO" : "GALAXY");
    rows.snr[i] = 5.0f + static_cast<float>(i % 30);
    rows.split[i] = i % 4 == 0;
    rows.ra[i] = std::fmod(0.001 * static_cast<double>(i), 360.0);
    rows.dec[i] = -10.0 + 40.0 * static_cast<double>(i % 997) / 997.0;
  }
  DatasetProvenance prov;
  for (int b = 0; b < bins; ++b) prov.wave.push_back(3600.0 + (7556.0 - 3600.0) * (b + 0.5) / bins);
  prov.wave_min = 3600;
  prov.wave_max = 7556;
  prov.selection = "bench_report";
  write_dataset(MPI_COMM_NULL, out / "dataset.h5", rows, prov, false);
  const DatasetInfo info = read_dataset_info(MPI_COMM_NULL, out / "dataset.h5");

  model::VaeShape shape;
  shape.n_input = bins;
  shape.encoder = {32, 16};
  shape.latent = 10;
  shape.decoder = {16, 32};
  model::Checkpoint c;
  c.shape = shape;
  c.params = model::initial_parameters(shape, 3);
  c.config_hash = "bench";
  c.dataset_hash = info.dataset_hash;
  model::save_checkpoint(out / "train" / "checkpoint-best.h5", c);
  {
    std::ofstream m(out / "train" / "metrics.jsonl");
    for (int e = 1; e <= 50; ++e)
      m << "{\"epoch\":" << e << ",\"train_loss\":" << 1000.0 / e << ",\"val_loss\":" << 1100.0 / e << ",\"lr\":0.001}\n";
  }
  std::printf("prepare: dataset and model in %.1f s\n", secs());

  model::Vae vae(shape, c.params, model::make_backend("cpu", 0, "batch-invariant"));
  const score::RowScores rs = score::score_rows(vae, rows, 2, 2, 8192);
  score::ScoreShard s;
  s.row_count = s.n_total_rows = n;
  s.latent = shape.latent;
  s.lof_k = 20;
  s.recon_samples = 2;
  s.dataset_hash = info.dataset_hash;
  s.model_hash = score::model_hash(model::load_checkpoint(out / "train" / "checkpoint-best.h5"));
  s.config_hash = "bench";
  s.code_version = "bench";
  s.dataset_path = fs::absolute(out / "dataset.h5").string();
  s.checkpoint_path = fs::absolute(out / "train" / "checkpoint-best.h5").string();
  s.knn_method = "stand-in";
  s.targetid = rows.targetid;
  s.ra = rows.ra;
  s.dec = rows.dec;
  s.z = rows.z;
  s.spectype = rows.spectype;
  s.snr = rows.snr;
  s.split = rows.split;
  s.mse = rs.mse;
  s.recon_logprob = rs.recon_logprob;
  s.nof.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    double r2 = 0;
    for (int j = 0; j < shape.latent; ++j) r2 += rs.mu[i * shape.latent + j] * rs.mu[i * shape.latent + j];
    s.nof[i] = -1.0 - std::sqrt(r2) / 10.0;
  }
  s.latent_mu = rs.mu;
  s.latent_logvar = rs.logvar;
  fs::create_directories(out / "score");
  score::write_score_shard(score::score_shard_path(out / "score", 0), s);
  std::printf("prepare: scored in %.1f s\n", secs());
  merge::MergeOptions mo;
  mo.shard_dir = out / "score";
  mo.out_dir = out / "catalogue";
  merge::run_merge(StageContext(Config::defaults()), mo);
  std::printf("prepare: merged in %.1f s; catalogue %s\n", secs(), (out / "catalogue").string().c_str());
  return 0;
}
