// Per-class MSE summaries, the truth table reader, recall in the top fraction and ROC AUC.
#include "specvae/merge/quality.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

#include <fmt/format.h>

#include "specvae/core/csv.hpp"
#include "specvae/core/error.hpp"

namespace specvae::merge {

std::vector<ClassSummary> class_summaries(const Catalogue& cat, const std::map<std::int64_t, std::string>* normal_only) {
  std::map<std::string, ClassSummary> by;
  std::map<std::string, double> sum_all;
  std::map<std::string, std::vector<double>> val, val_pca;
  for (std::int64_t i = 0; i < cat.n; ++i) {
    if (normal_only) {
      const auto it = normal_only->find(cat.targetid[i]);
      if (it == normal_only->end() || it->second != "normal") continue;
    }
    // SPECTYPE as strings, or as codes into spectype_names (a catalogue read back for the report).
    const std::string& type = cat.spectype.empty() ? cat.spectype_names[cat.spectype_code[i]] : cat.spectype[i];
    ClassSummary& s = by[type];
    s.spectype = type;
    ++s.n_all;
    sum_all[s.spectype] += cat.score[0][i];
    if (cat.split[i] == 1) {
      ++s.n_val;
      val[s.spectype].push_back(cat.score[0][i]);
      if (!cat.score[kPcaScore].empty()) val_pca[s.spectype].push_back(cat.score[kPcaScore][i]);
    }
  }
  const auto mean_median = [](std::vector<double>& v, double& mean, double& median) {
    mean = median = std::nan("");
    if (v.empty()) return;
    mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    std::sort(v.begin(), v.end());
    const std::size_t h = v.size() / 2;
    median = v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
  };
  std::vector<ClassSummary> out;
  for (auto& [name, s] : by) {
    s.mean_mse_all = sum_all[name] / static_cast<double>(s.n_all);
    mean_median(val[name], s.mean_mse_val, s.median_mse_val);
    mean_median(val_pca[name], s.mean_pca_val, s.median_pca_val);
    out.push_back(s);
  }
  return out;
}

namespace {


}  // namespace

std::map<std::int64_t, std::string> read_truth_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open the truth table", path.string()));
  std::string line;
  if (!std::getline(in, line)) throw InputError(fmt::format("{}: empty truth table", path.string()));
  csv::strip_bom(line);
  const std::vector<std::string> header = csv::split(line);
  const auto col = [&](const char* name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end())
      throw InputError(fmt::format("{}: truth table header has no '{}' column (header: {})", path.string(), name, line));
    return static_cast<std::size_t>(it - header.begin());
  };
  const std::size_t c_id = col("targetid"), c_kind = col("anomaly");
  std::map<std::int64_t, std::string> out;
  for (std::int64_t lineno = 2; std::getline(in, line); ++lineno) {
    if (line.empty()) continue;
    const std::vector<std::string> cells = csv::split(line);
    if (cells.size() != header.size())
      throw InputError(fmt::format("{}: line {} has {} fields, the header {}", path.string(), lineno, cells.size(),
                                   header.size()));
    std::int64_t id = 0;
    try {
      std::size_t used = 0;
      id = std::stoll(cells[c_id], &used);
      if (used != cells[c_id].size()) throw std::invalid_argument("trailing text");
    } catch (const std::exception&) {
      throw InputError(fmt::format("{}: line {}: targetid '{}' is not an integer", path.string(), lineno, cells[c_id]));
    }
    out[id] = cells[c_kind];
  }
  if (out.empty()) throw InputError(fmt::format("{}: the truth table has a header but no rows", path.string()));
  return out;
}

void check_truth_matches(const std::map<std::int64_t, std::string>& truth, std::span<const std::int64_t> targetid,
                         const std::filesystem::path& path) {
  for (std::int64_t id : targetid)
    if (truth.count(id)) return;
  throw InputError(fmt::format("{}: none of its {} TARGETIDs is in the catalogue (the truth table of another "
                               "survey?)",
                               path.string(), truth.size()));
}

double roc_auc(const std::vector<double>& score, const std::vector<std::uint8_t>& label) {
  // NaN scores take no part (they have no order); ±inf sort at the ends.
  std::vector<std::size_t> idx;
  idx.reserve(score.size());
  for (std::size_t i = 0; i < score.size(); ++i)
    if (!std::isnan(score[i])) idx.push_back(i);
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return score[a] < score[b]; });
  double rank_sum = 0;
  std::int64_t n_pos = 0, n_neg = 0;
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t j = i + 1;
    while (j < idx.size() && score[idx[j]] == score[idx[i]]) ++j;
    const double avg = 0.5 * static_cast<double>(i + 1 + j);  // average of ranks i+1 … j
    for (std::size_t t = i; t < j; ++t)
      if (label[idx[t]]) rank_sum += avg;
    i = j;
  }
  for (const std::size_t i : idx) (label[i] ? n_pos : n_neg)++;
  if (n_pos == 0 || n_neg == 0) return std::nan("");
  const double np = static_cast<double>(n_pos), nn = static_cast<double>(n_neg);
  return (rank_sum - np * (np + 1) / 2) / (np * nn);
}

std::vector<DetectionRow> detection_quality(const Catalogue& cat, const std::map<std::int64_t, std::string>& truth) {
  std::map<std::string, std::int64_t> n_truth;
  for (const auto& [id, kind] : truth) ++n_truth[kind];
  std::vector<std::string> kind_of(cat.n);
  for (std::int64_t i = 0; i < cat.n; ++i) {
    const auto it = truth.find(cat.targetid[i]);
    kind_of[i] = it == truth.end() ? "" : it->second;
  }
  // Anomaly "weirdness" of each score, higher = more anomalous, for the AUC.
  std::array<std::vector<double>, kNumScores + 1> weird;
  for (int s = 0; s < kNumScores; ++s) {
    weird[s].resize(cat.n);
    for (std::int64_t i = 0; i < cat.n; ++i) weird[s][i] = kScores[s].higher_is_weirder ? cat.score[s][i] : -cat.score[s][i];
  }
  weird[kNumScores] = cat.combined;
  std::vector<DetectionRow> out;
  const std::string kAll = "all anomalies";
  std::int64_t n_anomalies = 0;
  for (const auto& [kind, count] : n_truth)
    if (kind != "normal") n_anomalies += count;
  std::vector<std::pair<std::string, std::int64_t>> kinds(n_truth.begin(), n_truth.end());
  if (n_anomalies > 0) kinds.emplace_back(kAll, n_anomalies);
  const auto flag_of = [&](int s, std::int64_t i) { return s < kNumScores ? cat.flag[s][i] : cat.flag_combined[i]; };
  for (const auto& [kind, count] : kinds) {
    if (kind == "normal") continue;
    DetectionRow row;
    row.kind = kind;
    row.n_truth = count;
    std::vector<double> sub[kNumScores + 1];
    std::vector<std::uint8_t> label;
    std::int64_t flagged[kNumScores + 1] = {}, flagged_known[kNumScores + 1] = {};
    for (std::int64_t i = 0; i < cat.n; ++i) {
      const bool known = !kind_of[i].empty();
      const bool pos = kind == kAll ? known && kind_of[i] != "normal" : kind_of[i] == kind, neg = kind_of[i] == "normal";
      for (int s = 0; s <= kNumScores; ++s) {
        flagged_known[s] += known && flag_of(s, i);
        flagged[s] += pos && flag_of(s, i);
      }
      if (pos) ++row.n_catalogue;
      if (!pos && !neg) continue;
      label.push_back(pos);
      for (int s = 0; s <= kNumScores; ++s) sub[s].push_back(weird[s][i]);
    }
    for (int s = 0; s <= kNumScores; ++s) {
      row.recall[s] = row.n_catalogue > 0 ? static_cast<double>(flagged[s]) / static_cast<double>(row.n_catalogue)
                                          : std::nan("");
      row.precision[s] = flagged_known[s] > 0 ? static_cast<double>(flagged[s]) / static_cast<double>(flagged_known[s])
                                              : std::nan("");
      row.auc[s] = roc_auc(sub[s], label);
    }
    out.push_back(row);
  }
  return out;
}

std::string format_class_table(const std::vector<ClassSummary>& rows) {
  std::string s = fmt::format("{:<8} {:>9} {:>9} {:>14} {:>14} {:>14} {:>14} {:>14}\n", "class", "n", "n_val",
                              "mean_mse_val", "median_mse_val", "mean_mse_all", "mean_pca_val", "median_pca_val");
  for (const auto& r : rows)
    s += fmt::format("{:<8} {:>9} {:>9} {:>14.5g} {:>14.5g} {:>14.5g} {:>14.5g} {:>14.5g}\n", r.spectype, r.n_all,
                     r.n_val, r.mean_mse_val, r.median_mse_val, r.mean_mse_all, r.mean_pca_val, r.median_pca_val);
  return s;
}

std::string detection_score_name(int s) { return s < kNumScores ? kScores[s].name : "combined"; }

std::string format_yardstick_table(const std::vector<DetectionRow>& rows, double top_fraction) {
  const auto all = std::find_if(rows.begin(), rows.end(), [](const DetectionRow& r) { return r.kind == "all anomalies"; });
  if (all == rows.end()) return {};
  std::string s = fmt::format("all anomalies ({} in the catalogue) vs normal spectra, against the PCA yardstick (pca_mse):\n",
                              all->n_catalogue);
  s += fmt::format("{:<14} {:>7} {:>14} {:>11}\n", "score", "AUC", fmt::format("precision@{:g}%", 100 * top_fraction),
                   fmt::format("recall@{:g}%", 100 * top_fraction));
  for (int k = 0; k <= kNumScores; ++k)
    s += fmt::format("{:<14} {:>7.3f} {:>14.3f} {:>11.3f}\n", detection_score_name(k), all->auc[k], all->precision[k],
                     all->recall[k]);
  int best = -1;
  for (int k = 0; k <= kNumScores; ++k)
    if (k != kPcaScore && (best < 0 || all->auc[k] > all->auc[best])) best = k;
  const bool beats = all->auc[best] >= all->auc[kPcaScore] && all->precision[best] >= all->precision[kPcaScore];
  s += fmt::format("best VAE score by AUC: {} ({:.3f} vs {:.3f}; precision {:.3f} vs {:.3f}): {}\n",
                   detection_score_name(best), all->auc[best], all->auc[kPcaScore], all->precision[best],
                   all->precision[kPcaScore], beats ? "beats the PCA yardstick" : "does NOT beat the PCA yardstick");
  return s;
}

std::string format_detection_table(const std::vector<DetectionRow>& rows, double top_fraction) {
  std::string s = fmt::format("recall in the top {:g}% by each score, and ROC AUC vs normal spectra\n",
                              100 * top_fraction);
  s += fmt::format("{:<22} {:>6} {:>6} | {:>7} {:>7} {:>7} {:>7} {:>8} | {:>6} {:>6} {:>6} {:>6} {:>8}\n", "anomaly",
                   "truth", "in_cat", "R_mse", "R_logp", "R_nof", "R_pca", "R_comb", "A_mse", "A_logp", "A_nof", "A_pca",
                   "A_comb");
  for (const auto& r : rows)
    s += fmt::format(
        "{:<22} {:>6} {:>6} | {:>7.3f} {:>7.3f} {:>7.3f} {:>7.3f} {:>8.3f} | {:>6.3f} {:>6.3f} {:>6.3f} {:>6.3f} {:>8.3f}\n",
        r.kind, r.n_truth, r.n_catalogue, r.recall[0], r.recall[1], r.recall[2], r.recall[3], r.recall[4], r.auc[0],
        r.auc[1], r.auc[2], r.auc[3], r.auc[4]);
  return s;
}

}  // namespace specvae::merge
