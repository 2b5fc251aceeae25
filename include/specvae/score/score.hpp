// `specvae score` as a library: per rank, on its contiguous rows of the dataset and with the
// trained model (dropout off): weighted MSE (paper Eq. 6) at z = μ, the reconstruction
// log-probability (An & Cho 2015) from L latent samples, the latent μ and log σ², and LOF on
// the latent means over ALL rows; then one score shard per rank.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "specvae/core/config.hpp"
#include "specvae/core/progress.hpp"
#include "specvae/dist/communicator.hpp"
#include "specvae/dist/stage_context.hpp"
#include "specvae/io/dataset.hpp"
#include "specvae/model/vae.hpp"

namespace specvae::score {

struct RowScores {
  std::vector<double> mse;            // (1/M) Σ w (x − x̂(μ))², w = ivar·(1 − mask)
  std::vector<double> recon_logprob;  // logsumexp_l log p(x | z_l) − log L
  std::vector<float> mu, logvar;      // [rows × latent]
};

// Scores rows (flux, ivar, mask of `rows`) with the model. The samples z_l = μ + σ·ε use
// ε keyed by (seed, l, global row), so results do not depend on batching or rank count.
// `progress`, when given, is advanced by the rows of each pass.
RowScores score_rows(model::Vae& vae, const DatasetRows& rows, int recon_samples, std::uint64_t seed,
                     std::int64_t batch_size, Progress* progress = nullptr);

// model hash = FNV-1a of (checkpoint config hash, shape, parameter bytes): two shards scored
// with the same weights agree, whatever file the weights were read from.
std::string model_hash(const model::Checkpoint& checkpoint);

// The checkpoint `score` uses from a training folder: checkpoint-best.h5, else checkpoint-last.h5.
std::filesystem::path default_checkpoint(const std::filesystem::path& train_dir);

struct ScoreOptions {
  std::filesystem::path dataset;     // from `specvae ingest`
  std::filesystem::path checkpoint;  // from `specvae train`
  std::filesystem::path out_dir;     // score-shard-<rank>.h5 go here
};

struct ScoreResult {
  std::int64_t rows_total = 0, rows_local = 0;
  std::filesystem::path shard;
  std::string dataset_hash, model_hash;
  double model_seconds = 0, lof_seconds = 0, pca_seconds = 0;  // this rank
};

// The stage, collective over ctx.mpi() (every rank, also one without rows). Existing score
// shards in out_dir are removed first, so that shards of an earlier run with another rank
// count cannot mix in.
ScoreResult run_score(const StageContext& ctx, const ScoreOptions& options);

}  // namespace specvae::score
