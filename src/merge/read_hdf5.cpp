// catalogue.h5 read back: the columns and provenance `specvae merge` wrote, for the stages
// after it (report). Serial.
#include <string_view>

#include <fmt/format.h>

#include "specvae/core/commit.hpp"
#include "specvae/core/error.hpp"
#include "specvae/io/hdf5.hpp"
#include "specvae/merge/catalogue.hpp"
#include "specvae/merge/merge.hpp"
#include "specvae/io/h5_columns.hpp"

namespace specvae::merge {

namespace fs = std::filesystem;

fs::path resolve_catalogue_path(const fs::path& file_or_folder) {
  return fs::is_directory(file_or_folder) ? catalogue_hdf5_path(file_or_folder) : file_or_folder;
}

namespace {

// Opens catalogue.h5 and reads its provenance and thresholds (n = the file's rows).
Catalogue read_header(const fs::path& path, h5::Handle& f) {
  finish_interrupted_commit(path.parent_path().empty() ? fs::path(".") : path.parent_path(), "catalogue");
  if (!fs::exists(path)) throw InputError(fmt::format("{}: no such catalogue (run `specvae merge` first)", path.string()));
  f = h5::open_file(MPI_COMM_NULL, path);
  if (!h5::has_attr(f, "schema") || h5::read_attr_string(f, "schema") != "specvae catalogue")
    throw InputError(fmt::format("{}: not a specvae catalogue (no 'schema' = 'specvae catalogue' attribute)", path.string()));
  const auto str = [&](const char* name) { return h5::has_attr(f, name) ? h5::read_attr_string(f, name) : std::string(); };
  if (!h5::has_attr(f, "schema_version") || h5::read_attr_int(f, "schema_version") != kCatalogueSchemaVersion)
    throw InputError(fmt::format("{}: catalogue schema version {} (this build reads {}: run `specvae score` and "
                                 "`specvae merge` again)",
                                 path.string(), h5::has_attr(f, "schema_version") ? h5::read_attr_int(f, "schema_version") : 0,
                                 kCatalogueSchemaVersion));
  Catalogue c;
  c.n = h5::read_attr_int(f, "n_rows");
  c.latent = static_cast<int>(h5::read_attr_int(f, "latent_dim"));
  if (c.n < 0 || c.latent < 1)
    throw InputError(fmt::format("{}: n_rows = {} and latent_dim = {} are not a catalogue's", path.string(), c.n, c.latent));
  c.dataset_hash = str("dataset_hash");
  c.model_hash = str("model_hash");
  c.config_hash = str("config_hash");
  c.code_version = str("score_code_version");
  c.dataset_path = str("dataset_path");
  c.checkpoint_path = str("checkpoint_path");
  c.knn_method = str("knn_method");
  c.lof_k = h5::read_attr_int(f, "lof_k");
  c.recon_samples = h5::read_attr_int(f, "recon_samples");
  c.n_shards = h5::read_attr_int(f, "n_shards");
  c.top_fraction = h5::read_attr_double(f, "top_fraction");
  c.n_flagged = h5::read_attr_int(f, "n_flagged");
  for (int s = 0; s < kNumScores; ++s) c.threshold[s] = h5::read_attr_double(f, fmt::format("threshold_{}", kScores[s].name));
  c.threshold_combined = h5::read_attr_double(f, "threshold_combined");
  c.pca_k = h5::read_attr_int(f, "pca_components");
  c.pca_sample_rows = h5::read_attr_int(f, "pca_sample_rows");
  const auto bins = static_cast<std::int64_t>(h5::dims(h5::open_dataset(f, "pca_mean", path)).at(0));
  c.pca_mean = h5col::read<double>(f, "pca_mean", bins, 0, path);
  c.pca_evecs = h5col::read<double>(f, "pca_eigenspectra", c.pca_k, static_cast<int>(bins), path);
  return c;
}

}  // namespace

Catalogue read_catalogue(const fs::path& file_or_folder, bool with_logvar) {
  CatalogueColumns all;
  all.logvar = with_logvar;
  return read_catalogue(file_or_folder, all);
}

Catalogue read_catalogue(const fs::path& file_or_folder, const CatalogueColumns& columns) {
  const fs::path path = resolve_catalogue_path(file_or_folder);
  h5::Handle f;
  Catalogue c = read_header(path, f);
  const std::int64_t n = c.n;
  // targetid and split always; spectype as strings or codes; the rest with `positions`.
  static constexpr auto always = [](const ColumnSpec& spec) {
    const std::string_view name = spec.name;
    return name == "targetid" || name == "split";
  };
  static constexpr auto strings = [](const ColumnSpec& spec) { return std::string_view(spec.name) == "spectype"; };
  static constexpr auto rest = [](const ColumnSpec& spec) {
    const std::string_view name = spec.name;
    return name != "targetid" && name != "split" && name != "spectype";
  };
  h5col::read_row_columns(f, n, path, c, +always);
  if (columns.spectype_strings) {
    h5col::read_row_columns(f, n, path, c, +strings);
  } else {
    h5col::StringCodes codes = h5col::read_string_codes(f, "spectype", n, path);
    c.spectype_code = std::move(codes.codes);
    c.spectype_names = std::move(codes.names);
  }
  for (int s = 0; s < kNumScores; ++s) {
    if (columns.all_scores || s != 1) c.score[s] = h5col::read<double>(f, kScores[s].name, n, 0, path);
    c.rank[s] = h5col::read<std::int64_t>(f, fmt::format("rank_{}", kScores[s].name), n, 0, path);
    if (columns.all_scores) c.flag[s] = h5col::read<std::uint8_t>(f, fmt::format("flag_{}", kScores[s].name), n, 0, path);
  }
  c.rank_combined = h5col::read<std::int64_t>(f, "rank_combined", n, 0, path);
  if (columns.all_scores) {
    c.combined = h5col::read<double>(f, "combined", n, 0, path);
    c.flag_combined = h5col::read<std::uint8_t>(f, "flag_combined", n, 0, path);
  }
  if (columns.positions) h5col::read_row_columns(f, n, path, c, +rest);
  c.latent_mu = h5col::read<float>(f, "latent_mu", n, c.latent, path);
  if (columns.logvar) c.latent_logvar = h5col::read<float>(f, "latent_logvar", n, c.latent, path);
  return c;
}

Catalogue read_catalogue_rows(const fs::path& file_or_folder, const std::vector<std::int64_t>& rows) {
  const fs::path path = resolve_catalogue_path(file_or_folder);
  h5::Handle f;
  Catalogue c = read_header(path, f);
  const std::int64_t n = c.n;
  const auto col = [&]<typename T>(std::vector<T>& dst, const std::string& name, int width = 0) {
    dst = h5col::read_rows<T>(f, name, n, width, rows, path);
  };
  h5col::read_row_columns_at(f, n, rows, path, c);
  for (int s = 0; s < kNumScores; ++s) {
    col(c.score[s], kScores[s].name);
    col(c.rank[s], fmt::format("rank_{}", kScores[s].name));
    col(c.flag[s], fmt::format("flag_{}", kScores[s].name));
  }
  col(c.combined, "combined");
  col(c.rank_combined, "rank_combined");
  col(c.flag_combined, "flag_combined");
  col(c.latent_mu, "latent_mu", c.latent);
  col(c.latent_logvar, "latent_logvar", c.latent);
  c.n = static_cast<std::int64_t>(rows.size());
  return c;
}

}  // namespace specvae::merge
