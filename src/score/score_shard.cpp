// Score shard files: self-describing (schema version, row range, dataset and model hashes,
// config hash, code version), written to a temporary name and renamed, read back with
// shape checks so that merge can refuse anything inconsistent with a clear message.
#include "specvae/score/score_shard.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "specvae/core/commit.hpp"
#include "specvae/core/error.hpp"
#include "specvae/core/staged_file.hpp"
#include "specvae/io/hdf5.hpp"
#include "specvae/io/h5_columns.hpp"

namespace specvae::score {

namespace fs = std::filesystem;

void ScoreShard::validate(const std::string& origin) const {
  const auto n = static_cast<std::size_t>(row_count);
  const auto bad = [&](const char* what, std::size_t got, std::size_t want) {
    if (got != want) throw InputError(fmt::format("{}: column {} has {} values for {} rows", origin, what, got, want));
  };
  for_each_column([&](const ColumnSpec& spec, const auto& col) { bad(spec.name, col.size(), n); });
  bad("mse", mse.size(), n);
  bad("recon_logprob", recon_logprob.size(), n);
  bad("nof", nof.size(), n);
  bad("pca_mse", pca_mse.size(), n);
  bad("pca_eigenspectra", pca_evecs.size(), static_cast<std::size_t>(pca_k) * pca_mean.size());
  bad("latent_mu", latent_mu.size(), n * latent);
  bad("latent_logvar", latent_logvar.size(), n * latent);
}

fs::path score_shard_path(const fs::path& dir, std::int64_t rank) {
  return dir / fmt::format("score-shard-{:05d}.h5", rank);
}

std::vector<fs::path> find_score_shards(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  finish_interrupted_commit(dir, "score");
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.starts_with("score-shard-") && name.ends_with(".h5")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void write_score_shard(const fs::path& path, const ScoreShard& s) {
  StagedFile staged(path);
  write_score_shard_file(staged.temp(), s);
  staged.commit();
}

void write_score_shard_file(const fs::path& tmp, const ScoreShard& s) {
  s.validate(tmp.string());
  {
    h5::Handle f = h5::create_file(MPI_COMM_NULL, tmp);
    h5::write_attr(f, "schema", std::string("specvae score shard"));
    h5::write_attr(f, "schema_version", std::int64_t{kScoreShardSchemaVersion});
    h5::write_attr(f, "row_begin", s.row_begin);
    h5::write_attr(f, "row_count", s.row_count);
    h5::write_attr(f, "n_total_rows", s.n_total_rows);
    h5::write_attr(f, "rank", s.rank);
    h5::write_attr(f, "ranks", s.ranks);
    h5::write_attr(f, "latent_dim", s.latent);
    h5::write_attr(f, "lof_k", s.lof_k);
    h5::write_attr(f, "recon_samples", s.recon_samples);
    h5::write_attr(f, "dataset_hash", s.dataset_hash);
    h5::write_attr(f, "model_hash", s.model_hash);
    h5::write_attr(f, "config_hash", s.config_hash);
    h5::write_attr(f, "code_version", s.code_version);
    h5::write_attr(f, "dataset_path", s.dataset_path);
    h5::write_attr(f, "checkpoint_path", s.checkpoint_path);
    h5::write_attr(f, "knn_method", s.knn_method);
    h5col::write_row_columns(f, s);
    h5col::write(f, "mse", s.mse);
    h5col::write(f, "recon_logprob", s.recon_logprob);
    h5col::write(f, "nof", s.nof);
    h5col::write(f, "pca_mse", s.pca_mse);
    h5::write_attr(f, "pca_components", s.pca_k);
    h5::write_attr(f, "pca_sample_rows", s.pca_sample_rows);
    h5col::write(f, "pca_mean", s.pca_mean);
    h5col::write(f, "pca_eigenspectra", s.pca_evecs, static_cast<int>(s.pca_mean.size()));
    h5col::write(f, "latent_mu", s.latent_mu, static_cast<int>(s.latent));
    h5col::write(f, "latent_logvar", s.latent_logvar, static_cast<int>(s.latent));
    h5::close_file(f, tmp);
  }
}

ScoreShard read_score_shard(const fs::path& path) {
  if (!fs::is_regular_file(path)) throw InputError(fmt::format("{}: score shard not found", path.string()));
  h5::Handle f = h5::open_file(MPI_COMM_NULL, path);
  const auto need = [&](const char* attr) {
    if (!h5::has_attr(f, attr))
      throw InputError(fmt::format("{}: not a specvae score shard (attribute '{}' missing)", path.string(), attr));
  };
  need("schema_version");
  if (h5::read_attr_int(f, "schema_version") != kScoreShardSchemaVersion)
    throw InputError(fmt::format("{}: score shard schema version {} (this build reads {})", path.string(),
                                 h5::read_attr_int(f, "schema_version"), kScoreShardSchemaVersion));
  ScoreShard s;
  for (const char* a : {"row_begin", "row_count", "n_total_rows", "rank", "ranks", "latent_dim", "lof_k",
                        "recon_samples", "dataset_hash", "model_hash", "config_hash"})
    need(a);
  s.row_begin = h5::read_attr_int(f, "row_begin");
  s.row_count = h5::read_attr_int(f, "row_count");
  s.n_total_rows = h5::read_attr_int(f, "n_total_rows");
  s.rank = h5::read_attr_int(f, "rank");
  s.ranks = h5::read_attr_int(f, "ranks");
  s.latent = h5::read_attr_int(f, "latent_dim");
  s.lof_k = h5::read_attr_int(f, "lof_k");
  s.recon_samples = h5::read_attr_int(f, "recon_samples");
  s.dataset_hash = h5::read_attr_string(f, "dataset_hash");
  s.model_hash = h5::read_attr_string(f, "model_hash");
  s.config_hash = h5::read_attr_string(f, "config_hash");
  s.code_version = h5::has_attr(f, "code_version") ? h5::read_attr_string(f, "code_version") : "";
  s.dataset_path = h5::has_attr(f, "dataset_path") ? h5::read_attr_string(f, "dataset_path") : "";
  s.checkpoint_path = h5::has_attr(f, "checkpoint_path") ? h5::read_attr_string(f, "checkpoint_path") : "";
  s.knn_method = h5::has_attr(f, "knn_method") ? h5::read_attr_string(f, "knn_method") : "";
  if (s.row_count < 0 || s.row_begin < 0 || s.latent < 1 || s.row_begin + s.row_count > s.n_total_rows)
    throw InputError(fmt::format("{}: inconsistent row range [{}, {}) of {} rows (latent_dim {})", path.string(),
                                 s.row_begin, s.row_begin + s.row_count, s.n_total_rows, s.latent));
  const std::int64_t n = s.row_count;
  const int L = static_cast<int>(s.latent);
  h5col::read_row_columns(f, n, path, s);
  s.mse = h5col::read<double>(f, "mse", n, 0, path);
  s.recon_logprob = h5col::read<double>(f, "recon_logprob", n, 0, path);
  s.nof = h5col::read<double>(f, "nof", n, 0, path);
  s.pca_mse = h5col::read<double>(f, "pca_mse", n, 0, path);
  need("pca_components");
  s.pca_k = h5::read_attr_int(f, "pca_components");
  s.pca_sample_rows = h5::has_attr(f, "pca_sample_rows") ? h5::read_attr_int(f, "pca_sample_rows") : 0;
  const std::int64_t bins = static_cast<std::int64_t>(h5::dims(h5::open_dataset(f, "pca_mean", path)).at(0));
  if (s.pca_k < 0 || bins < 1)
    throw InputError(fmt::format("{}: PCA yardstick of {} components over {} bins", path.string(), s.pca_k, bins));
  s.pca_mean = h5col::read<double>(f, "pca_mean", bins, 0, path);
  s.pca_evecs = h5col::read<double>(f, "pca_eigenspectra", s.pca_k, static_cast<int>(bins), path);
  s.latent_mu = h5col::read<float>(f, "latent_mu", n, L, path);
  s.latent_logvar = h5col::read<float>(f, "latent_logvar", n, L, path);
  return s;
}

}  // namespace specvae::score
