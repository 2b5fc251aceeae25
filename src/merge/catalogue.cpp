// Coverage checks over score shards (every row once, one dataset, one model) and the ranking
// that turns the concatenated scores into the catalogue's ranks, flags and combined score.
#include "specvae/merge/catalogue.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <numeric>
#include <string_view>
#include <tuple>
#include <type_traits>

#include <fmt/format.h>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"

namespace specvae::merge {

namespace fs = std::filesystem;

std::vector<score::ScoreShard> read_shards(const std::vector<fs::path>& paths) {
  std::vector<score::ScoreShard> out;
  out.reserve(paths.size());
  for (const fs::path& p : paths) out.push_back(score::read_score_shard(p));
  return out;
}

void check_coverage(const std::vector<score::ScoreShard>& shards, const std::vector<fs::path>& paths) {
  SPECVAE_CHECK(shards.size() == paths.size(), "{} shards, {} paths", shards.size(), paths.size());
  if (shards.empty()) throw InputError("merge: no score shards given (run `specvae score` first)");
  const score::ScoreShard& first = shards[0];
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const score::ScoreShard& s = shards[i];
    s.validate(paths[i].string());
    if (s.dataset_hash != first.dataset_hash || s.n_total_rows != first.n_total_rows)
      throw InputError(fmt::format("merge: {} is from dataset {} ({} rows) but {} is from dataset {} ({} rows)",
                                   paths[i].string(), s.dataset_hash, s.n_total_rows, paths[0].string(),
                                   first.dataset_hash, first.n_total_rows));
    if (s.model_hash != first.model_hash)
      throw InputError(fmt::format("merge: {} was scored with model {} but {} with model {}; rescore with one model",
                                   paths[i].string(), s.model_hash, paths[0].string(), first.model_hash));
    if (s.latent != first.latent)
      throw InputError(fmt::format("merge: {} has latent_dim {}, {} has {}", paths[i].string(), s.latent,
                                   paths[0].string(), first.latent));
    // Scores from other settings (LOF's k, the latent samples, ...) are not comparable.
    if (s.config_hash != first.config_hash || s.lof_k != first.lof_k || s.recon_samples != first.recon_samples)
      throw InputError(fmt::format("merge: {} was scored with config {} (lof_k {}, {} latent samples) but {} with config {} "
                                   "(lof_k {}, {} latent samples); rescore every rank in one run",
                                   paths[i].string(), s.config_hash, s.lof_k, s.recon_samples, paths[0].string(),
                                   first.config_hash, first.lof_k, first.recon_samples));
  }
  std::vector<std::size_t> order(shards.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::pair(shards[a].row_begin, shards[a].row_count) < std::pair(shards[b].row_begin, shards[b].row_count);
  });
  std::int64_t next = 0;
  std::size_t prev = order[0];
  for (std::size_t i : order) {
    const score::ScoreShard& s = shards[i];
    if (s.row_count == 0) continue;  // a rank without rows
    if (s.row_begin < next)
      throw InputError(fmt::format("merge: {} (rows {}–{}) overlaps {} (rows {}–{}); remove the stale shard",
                                   paths[i].string(), s.row_begin, s.row_begin + s.row_count - 1,
                                   paths[prev].string(), shards[prev].row_begin,
                                   shards[prev].row_begin + shards[prev].row_count - 1));
    if (s.row_begin > next)
      throw InputError(fmt::format("merge: rows {}–{} of {} are in no shard (is a score shard missing?)", next,
                                   s.row_begin - 1, first.n_total_rows));
    next = s.row_begin + s.row_count;
    prev = i;
  }
  if (next != first.n_total_rows)
    throw InputError(fmt::format("merge: rows {}–{} of {} are in no shard (is a score shard missing?)", next,
                                 first.n_total_rows - 1, first.n_total_rows));
}

Catalogue build_catalogue(std::vector<score::ScoreShard> shards, const std::vector<fs::path>& paths,
                          double top_fraction) {
  check_coverage(shards, paths);
  std::sort(shards.begin(), shards.end(),
            [](const auto& a, const auto& b) { return a.row_begin < b.row_begin; });
  Catalogue c;
  const score::ScoreShard& f = shards[0];
  c.n = f.n_total_rows;
  c.latent = static_cast<int>(f.latent);
  c.dataset_hash = f.dataset_hash;
  c.model_hash = f.model_hash;
  c.config_hash = f.config_hash;
  c.code_version = f.code_version;
  c.dataset_path = f.dataset_path;
  c.checkpoint_path = f.checkpoint_path;
  c.knn_method = f.knn_method;
  c.lof_k = f.lof_k;
  c.recon_samples = f.recon_samples;
  c.n_shards = static_cast<std::int64_t>(shards.size());
  // Each shard's columns are freed once appended (and reserved pages of the catalogue only
  // become resident as they are written), so the peak is the catalogue plus one shard rather
  // than twice the catalogue. One shard is moved.
  const auto cat = [&](auto& dst, auto& src, std::int64_t per_row) {
    if (shards.size() == 1) {
      dst = std::move(src);
    } else {
      if (dst.empty()) dst.reserve(static_cast<std::size_t>(c.n * per_row));
      dst.insert(dst.end(), std::make_move_iterator(src.begin()), std::make_move_iterator(src.end()));
    }
    std::remove_reference_t<decltype(src)>().swap(src);
  };
  // The yardstick: the same in every shard (each rank fitted it from the same sample).
  c.pca_k = shards.front().pca_k;
  c.pca_sample_rows = shards.front().pca_sample_rows;
  c.pca_mean = shards.front().pca_mean;
  c.pca_evecs = shards.front().pca_evecs;
  for (std::size_t k = 1; k < shards.size(); ++k)
    if (shards[k].pca_k != c.pca_k || shards[k].pca_mean != c.pca_mean || shards[k].pca_evecs != c.pca_evecs)
      throw InputError(fmt::format("{}: its PCA yardstick differs from that of {} (shards of different score runs?)",
                                   paths[k].string(), paths[0].string()));
  for (score::ScoreShard& s : shards) {
    std::vector<void*> from;  // the shard's per-row columns, in table order
    s.for_each_column([&](const ColumnSpec&, auto& col) { from.push_back(&col); });
    std::size_t k = 0;
    c.for_each_column([&](const ColumnSpec&, auto& col) {
      cat(col, *static_cast<std::remove_reference_t<decltype(col)>*>(from[k++]), 1);
    });
    cat(c.score[0], s.mse, 1);
    cat(c.score[1], s.recon_logprob, 1);
    cat(c.score[2], s.nof, 1);
    cat(c.score[kPcaScore], s.pca_mse, 1);
    cat(c.latent_mu, s.latent_mu, c.latent);
    cat(c.latent_logvar, s.latent_logvar, c.latent);
  }
  SPECVAE_CHECK(static_cast<std::int64_t>(c.targetid.size()) == c.n, "catalogue has {} rows, expected {}",
                c.targetid.size(), c.n);
  // The catalogue is keyed by (TARGETID, SURVEY, PROGRAM), which ingest keeps unique
  // (ingest.dedup); a dataset from elsewhere that repeats a key is kept as it is, but said so.
  std::vector<std::tuple<std::int64_t, std::string_view, std::string_view>> keys;
  keys.reserve(c.targetid.size());
  for (std::size_t i = 0; i < c.targetid.size(); ++i) keys.emplace_back(c.targetid[i], c.survey[i], c.program[i]);
  std::sort(keys.begin(), keys.end());
  const auto dup = static_cast<std::int64_t>(keys.end() - std::unique(keys.begin(), keys.end()));
  if (dup > 0) log::warn("merge: {} rows repeat a (TARGETID, SURVEY, PROGRAM) already in the catalogue", dup);
  rank_catalogue(c, top_fraction);
  return c;
}

namespace {

// Rows ordered from most to least anomalous; NaN last; ties by row. Sorted as (key, row)
// pairs, which is the order of a stable sort by the score and keeps the comparisons in cache.
std::vector<std::int64_t> anomaly_order(const std::vector<double>& v, bool higher_is_weirder) {
  std::vector<std::pair<double, std::int64_t>> keyed;
  keyed.reserve(v.size());
  std::vector<std::int64_t> nan_rows;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) {
      nan_rows.push_back(static_cast<std::int64_t>(i));
    } else {
      keyed.emplace_back(higher_is_weirder ? -v[i] : v[i], static_cast<std::int64_t>(i));
    }
  }
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    return a.first < b.first || (!(b.first < a.first) && a.second < b.second);
  });
  std::vector<std::int64_t> idx;
  idx.reserve(v.size());
  for (const auto& k : keyed) idx.push_back(k.second);
  idx.insert(idx.end(), nan_rows.begin(), nan_rows.end());
  return idx;
}

// NaN scores rank last and are never flagged (so fewer than n_flag rows are flagged when
// fewer are finite); the threshold is the score of the last flagged row. Returns the NaN count.
std::int64_t rank_and_flag(const std::vector<double>& v, bool higher_is_weirder, std::int64_t n_flag,
                           std::vector<std::int64_t>& rank, std::vector<std::uint8_t>& flag, double& threshold) {
  const std::vector<std::int64_t> order = anomaly_order(v, higher_is_weirder);
  rank.assign(v.size(), 0);
  flag.assign(v.size(), 0);
  std::int64_t n_finite = 0;
  for (std::size_t r = 0; r < order.size(); ++r) {
    const bool nan = std::isnan(v[order[r]]);
    n_finite += !nan;
    rank[order[r]] = static_cast<std::int64_t>(r) + 1;
    flag[order[r]] = static_cast<std::int64_t>(r) < n_flag && !nan;
  }
  const std::int64_t last = std::min(n_flag, n_finite) - 1;
  threshold = last < 0 ? std::nan("") : v[order[last]];
  return static_cast<std::int64_t>(v.size()) - n_finite;
}

}  // namespace

void rank_catalogue(Catalogue& c, double top_fraction) {
  c.top_fraction = top_fraction;
  // ceil, with a tolerance so that 1% of 20000 is 200 and not 201 through rounding.
  c.n_flagged = std::min<std::int64_t>(
      c.n, std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(top_fraction * static_cast<double>(c.n) - 1e-9))));
  c.combined.assign(c.n, 0.0);
  for (int s = 0; s < kNumScores; ++s) {
    if (const std::int64_t nan = rank_and_flag(c.score[s], kScores[s].higher_is_weirder, c.n_flagged, c.rank[s],
                                               c.flag[s], c.threshold[s]);
        nan > 0)
      log::warn("merge: {} of {} rows have no {} (NaN): ranked last, never flagged", nan, c.n, kScores[s].name);
    if (!kScores[s].in_combined) continue;
    for (std::int64_t i = 0; i < c.n; ++i)
      c.combined[i] += (1.0 - static_cast<double>(c.rank[s][i] - 1) / static_cast<double>(c.n)) / kNumCombined;
  }
  rank_and_flag(c.combined, true, c.n_flagged, c.rank_combined, c.flag_combined, c.threshold_combined);
}

}  // namespace specvae::merge
