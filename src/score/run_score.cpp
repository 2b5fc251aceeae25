// The score stage driver: read this rank's rows (collective), load the checkpoint, compute
// the model scores, LOF over all ranks' latent means, and write this rank's shard.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>

#include "specvae/core/commit.hpp"
#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/core/version.hpp"
#include "specvae/dist/memory_check.hpp"
#include "specvae/dist/shard_plan.hpp"
#include "specvae/model/vae.hpp"
#include "specvae/io/hdf5.hpp"
#include "specvae/score/lof.hpp"
#include "specvae/score/pca_yardstick.hpp"
#include "specvae/score/score.hpp"
#include "specvae/score/score_shard.hpp"

namespace specvae::score {

namespace fs = std::filesystem;

std::string model_hash(const model::Checkpoint& c) {
  std::uint64_t h = fnv1a64(c.config_hash);
  h = fnv1a64(c.shape.describe(), h);
  h = fnv1a64(std::string_view(reinterpret_cast<const char*>(c.params.data()), c.params.size() * sizeof(float)), h);
  if (!c.scaling.identity()) {
    h = fnv1a64(std::string_view(reinterpret_cast<const char*>(c.scaling.offset.data()), c.scaling.offset.size() * sizeof(float)), h);
    h = fnv1a64(std::string_view(reinterpret_cast<const char*>(&c.scaling.scale), sizeof(float)), h);
  }
  return fmt::format("{:016x}", h);
}

fs::path default_checkpoint(const fs::path& train_dir) {
  const fs::path best = train_dir / "checkpoint-best.h5";
  return fs::exists(best) ? best : train_dir / "checkpoint-last.h5";
}

namespace {

// A non-finite latent mean (a diverged or foreign checkpoint, or a dataset not written by
// ingest) would poison the neighbour search: every rank stops with the same error naming the
// first such spectrum (collective).
void check_finite(Communicator& comm, const DatasetRows& rows, const RowScores& rs, int latent,
                  const ScoreOptions& options) {
  struct Bad {
    std::int64_t count = 0, row = -1, targetid = 0;
  } bad;
  for (std::int64_t i = 0; i < rows.count; ++i) {
    bool finite = std::isfinite(rs.mse[i]) && std::isfinite(rs.recon_logprob[i]);
    for (int j = 0; j < latent && finite; ++j)
      finite = std::isfinite(rs.mu[i * latent + j]) && std::isfinite(rs.logvar[i * latent + j]);
    if (finite) continue;
    if (bad.count++ == 0) bad.row = rows.begin + i, bad.targetid = rows.targetid[i];
  }
  std::int64_t total = 0;
  const Bad* first = nullptr;
  const std::vector<Bad> all = comm.allgather(bad);
  for (const Bad& b : all) {
    total += b.count;
    if (b.count > 0 && !first) first = &b;
  }
  if (first)
    throw InputError(fmt::format("{}: the model gives a non-finite latent mean or score for {} spectra, the first TARGETID "
                                 "{} (row {} of {}); is the checkpoint diverged, or the dataset not written by ingest?",
                                 options.checkpoint.string(), total, first->targetid, first->row,
                                 options.dataset.string()));
}

// The shards are one result (collective): every rank writes its own into one staging folder,
// and only when all have succeeded does rank 0 replace the old set (possibly from another rank
// count) with the new one, as one journaled commit that a kill cannot leave half done (the
// next score or merge finishes it). A failure on any rank leaves the old set as it was.
void write_shards(MpiCommunicator& comm, const fs::path& out_dir, const ScoreShard& s) {
  const int rank = comm.rank();
  const fs::path shard = score_shard_path(out_dir, rank);
  std::optional<StagingDir> staging;
  std::string staging_path, failure;
  if (rank == 0) {
    try {
      fs::create_directories(out_dir);
      finish_interrupted_commit(out_dir, "score");
      staging.emplace(out_dir, "score");
      staging_path = staging->path().string();
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  staging_path = comm.broadcast_string(staging_path);
  if (!staging_path.empty()) {
    try {
      inject_fault("score.write_shard");
      write_score_shard_file(fs::path(staging_path) / shard.filename(), s);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  const auto all_succeeded = [&] {
    if (comm.allreduce_sum(failure.empty() ? 0.0 : 1.0) == 0) return;
    staging.reset();  // every rank is done with the staging folder
    throw InputError(failure.empty() ? fmt::format("{}: another rank could not write its score shard (its message "
                                                   "names it); the previous shards are kept",
                                                   out_dir.string())
                                     : failure + "; the previous shards are kept");
  };
  all_succeeded();
  if (rank == 0) {
    try {
      std::vector<std::string> old;
      for (const fs::path& p : find_score_shards(out_dir)) old.push_back(p.filename().string());
      staging->commit(old);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  all_succeeded();
}

}  // namespace

ScoreResult run_score(const StageContext& ctx, const ScoreOptions& options) {
  const Config& config = ctx.config();
  MpiCommunicator& comm = ctx.mpi();
  using Clock = std::chrono::steady_clock;
  const DatasetInfo info = read_dataset_info(comm.handle(), options.dataset);
  if (info.rows == 0) throw InputError(fmt::format("{}: the dataset has no rows", options.dataset.string()));
  const ShardPlan plan(info.rows, comm.size());
  const int rank = comm.rank();
  const model::VaeShape planned = model::VaeShape::from_config(config);
  check_memory(config, comm, ctx.local_size(), "score",
               score_memory_estimate(info.n_bins, planned.n_params(), planned.latent, config.get_int("score.batch_size"),
                                     std::min(info.rows, config.get_int("score.pca_sample"))),
               plan.count(rank), info.rows);
  const DatasetRows rows = read_dataset_rows(comm.handle(), options.dataset, plan.begin(rank), plan.count(rank));

  if (!fs::exists(options.checkpoint))
    throw InputError(fmt::format("{}: checkpoint not found (run `specvae train` first)", options.checkpoint.string()));
  model::Checkpoint ckpt = model::load_checkpoint(options.checkpoint);
  if (!ckpt.dataset_hash.empty() && !info.dataset_hash.empty() && ckpt.dataset_hash != info.dataset_hash)
    log::warn("{} was trained on dataset {}, scoring dataset {} ({})", options.checkpoint.string(),
              ckpt.dataset_hash, info.dataset_hash, options.dataset.string());
  ScoreResult summary;
  summary.rows_total = info.rows;
  summary.rows_local = rows.count;
  summary.dataset_hash = info.dataset_hash;
  summary.model_hash = model_hash(ckpt);
  const int latent = ckpt.shape.latent;

  // A spectrum's scores must not depend on which spectra share its batch (the catalogue is the
  // same for any rank count): the batch-invariant SGEMM on CPUs. On a GPU, IEEE fp32 (never
  // TF32 for scores) with the configured layer forward.
  std::shared_ptr<model::Backend> backend = model::make_backend(
      config.get_string("train.backend"), static_cast<int>(config.get_int("train.threads")), "batch-invariant",
      /*tf32=*/false, config.get_string("train.cuda_epilogue") == "cublaslt");
  log::info("score: {} rows on this rank, passes of {} rows; backend {}", rows.count, config.get_int("score.batch_size"),
            backend->describe());
  model::Vae vae(ckpt.shape, std::move(ckpt.params), backend, std::move(ckpt.scaling));
  auto t0 = Clock::now();
  Progress progress("score: model passes over", "spectra", rows.count);  // this rank's rows
  const RowScores rs = score_rows(vae, rows, static_cast<int>(config.get_int("score.recon_samples")),
                                  static_cast<std::uint64_t>(config.get_int("score.seed")),
                                  config.get_int("score.batch_size"), &progress);
  summary.model_seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  check_finite(comm, rows, rs, latent, options);

  // The PCA yardstick on the same rows (collective; every rank fits the same model).
  t0 = Clock::now();
  const PcaYardstick pca = fit_pca_yardstick(comm, rows, info.rows, static_cast<int>(config.get_int("score.pca_components")),
                                             config.get_int("score.pca_sample"));
  std::vector<double> yard = pca_mse(pca, rows);
  summary.pca_seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  // A GPU is used for the kNN when the model ran on one (train.backend); score.knn = auto
  // takes it when the search fits (the base is every rank's latent means).
  const int gpu = backend->device();
  const int lof_k = static_cast<int>(config.get_int("score.lof_k"));
  const KnnMethod method = choose_knn_method(config.get_string("score.knn"), gpu, lof_k, rows.count, info.rows, latent, rank);
  t0 = Clock::now();
  const LofResult lof = distributed_lof(comm, rs.mu, latent, lof_k, method,
                                        static_cast<int>(config.get_int("train.threads")), gpu);
  summary.lof_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  SPECVAE_CHECK(lof.row_begin == rows.begin && lof.n_total == info.rows, "LOF rows [{}, +{}) of {} vs shard {} of {}",
                lof.row_begin, rows.count, lof.n_total, rows.begin, info.rows);

  ScoreShard s;
  s.row_begin = rows.begin;
  s.row_count = rows.count;
  s.n_total_rows = info.rows;
  s.rank = rank;
  s.ranks = comm.size();
  s.latent = latent;
  s.lof_k = lof.k;
  s.recon_samples = config.get_int("score.recon_samples");
  s.dataset_hash = info.dataset_hash;
  s.model_hash = summary.model_hash;
  s.config_hash = config.hash();
  s.code_version = version_string();
  s.dataset_path = fs::absolute(options.dataset).string();
  s.checkpoint_path = fs::absolute(options.checkpoint).string();
  s.knn_method = knn_method_name(method);
  static_cast<RowColumns&>(s) = static_cast<const RowColumns&>(rows);
  s.mse = rs.mse;
  s.recon_logprob = rs.recon_logprob;
  s.nof = lof.nof;
  s.pca_mse = std::move(yard);
  s.pca_k = pca.k;
  s.pca_sample_rows = pca.sample_rows;
  s.pca_mean = pca.mean;
  s.pca_evecs = pca.evecs;
  s.latent_mu = rs.mu;
  s.latent_logvar = rs.logvar;

  summary.shard = score_shard_path(options.out_dir, rank);
  write_shards(comm, options.out_dir, s);
  log::info("scored {} spectra on {} ranks: model {:.2f} s ({:.0f} spectra/s, {} latent samples), LOF (k={}, {}) "
            "{:.2f} s, PCA yardstick ({} eigenspectra of {} training spectra) {:.2f} s on rank 0; shards in {}",
            info.rows, comm.size(), summary.model_seconds,
            static_cast<double>(rows.count) / std::max(summary.model_seconds, 1e-9), s.recon_samples, lof.k,
            s.knn_method, summary.lof_seconds, pca.k, pca.sample_rows, summary.pca_seconds, options.out_dir.string());
  return summary;
}

}  // namespace specvae::score
