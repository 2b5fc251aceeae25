// `specvae report`: gather what the page shows from the catalogue, the dataset, the model and
// the training metrics, embed it as JSON in the page template, write the page atomically.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/core/staged_file.hpp"
#include "specvae/io/dataset.hpp"
#include "specvae/learn/learn.hpp"
#include "specvae/merge/quality.hpp"
#include "specvae/model/backend.hpp"
#include "specvae/model/vae.hpp"
#include "specvae/report/report.hpp"
#include "specvae/score/score.hpp"
#include "report_inputs.hpp"

namespace specvae::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// v to `digits` significant digits (the page draws at screen resolution; this keeps the
// embedded arrays short). Non-finite values become null.
json rounded(double v, int digits) {
  if (!std::isfinite(v)) return nullptr;
  if (v == 0) return 0.0;
  const double p = std::pow(10.0, digits - 1 - static_cast<int>(std::floor(std::log10(std::fabs(v)))));
  return std::round(v * p) / p;
}

json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// --- the inputs: the catalogue and what it was made from, each checked to be its own ------
struct Inputs {
  fs::path cat_path, dataset, ckpt_path;
  merge::Catalogue cat;  // the columns needed over every row (below)
  DatasetInfo info;
  model::Checkpoint ckpt;
  std::map<std::int64_t, std::string> truth;  // TARGETID → anomaly kind, with a truth table
};

Inputs open_inputs(const ReportOptions& o) {
  Inputs in;
  in.cat_path = merge::resolve_catalogue_path(o.catalogue);
  // Only the columns needed over every row (ranks, MSE, NOF, class, split, latent means; with a
  // truth table also what the detection table needs); the rest for the few hundred rows the
  // page shows (spectra_json).
  merge::CatalogueColumns columns;
  columns.positions = false;
  columns.all_scores = !o.truth.empty();
  columns.spectype_strings = false;
  in.cat = merge::read_catalogue(in.cat_path, columns);
  const merge::Catalogue& cat = in.cat;
  if (cat.n == 0) throw InputError(fmt::format("{}: the catalogue has no rows", in.cat_path.string()));

  in.dataset = o.dataset.empty() ? fs::path(cat.dataset_path) : o.dataset;
  if (in.dataset.empty() || !fs::exists(in.dataset))
    throw InputError(fmt::format("{}: dataset not found (from {}; give it with --dataset)", in.dataset.string(),
                                 o.dataset.empty() ? in.cat_path.string() + " attribute dataset_path" : "--dataset"));
  in.info = read_dataset_info(MPI_COMM_NULL, in.dataset);
  if (in.info.rows != cat.n || (!cat.dataset_hash.empty() && in.info.dataset_hash != cat.dataset_hash))
    throw InputError(fmt::format("{}: {} rows with hash {}, but {} was scored on {} rows with hash {}: not its dataset",
                                 in.dataset.string(), in.info.rows, in.info.dataset_hash, in.cat_path.string(), cat.n,
                                 cat.dataset_hash));
  in.ckpt_path = o.checkpoint.empty() ? fs::path(cat.checkpoint_path) : o.checkpoint;
  if (in.ckpt_path.empty() || !fs::exists(in.ckpt_path))
    throw InputError(fmt::format("{}: checkpoint not found (from {}; give it with --checkpoint)", in.ckpt_path.string(),
                                 o.checkpoint.empty() ? in.cat_path.string() + " attribute checkpoint_path" : "--checkpoint"));
  in.ckpt = model::load_checkpoint(in.ckpt_path);
  if (const std::string h = score::model_hash(in.ckpt); !cat.model_hash.empty() && h != cat.model_hash)
    throw InputError(fmt::format("{}: model hash {}, but {} was scored with model {}: not its model",
                                 in.ckpt_path.string(), h, in.cat_path.string(), cat.model_hash));
  if (in.ckpt.shape.latent != cat.latent || in.ckpt.shape.n_input != in.info.n_bins)
    throw InputError(fmt::format("{}: a {}-bin model with a {}-d latent space; the catalogue has {} and the dataset {} bins",
                                 in.ckpt_path.string(), in.ckpt.shape.n_input, in.ckpt.shape.latent, cat.latent,
                                 in.info.n_bins));
  if (!o.truth.empty()) in.truth = merge::read_truth_csv(o.truth);
  return in;
}

// Class of each row, an index into `names`: its SPECTYPE, or "injected anomaly" when the truth
// table says so (one byte a row: the catalogue can hold tens of millions).
struct RowClasses {
  std::vector<std::string> names;      // the SPECTYPEs (sorted), then "injected anomaly" if any
  std::uint8_t n_spectypes = 0;        // names[0 .. n_spectypes) are SPECTYPEs
  std::vector<std::uint8_t> cls;       // every row
  std::vector<std::uint8_t> normal;    // every row: not an injected anomaly (all rows without truth)
  std::vector<std::uint8_t> normal_val;  // normal and in the validation split
};

RowClasses row_classes(const Inputs& in) {
  const merge::Catalogue& cat = in.cat;
  const std::int64_t n = cat.n;
  RowClasses c;
  c.names = cat.spectype_names;  // sorted; cat.spectype_code indexes it
  SPECVAE_CHECK(c.names.size() < 255, "{} SPECTYPE values in {}", c.names.size(), in.cat_path.string());
  c.n_spectypes = static_cast<std::uint8_t>(c.names.size());
  c.cls.resize(static_cast<std::size_t>(n));
  c.normal.assign(static_cast<std::size_t>(n), 1);
  bool any_anomaly = false;
  for (std::int64_t i = 0; i < n; ++i) {
    c.cls[i] = cat.spectype_code[i];
    if (in.truth.empty()) continue;
    const auto it = in.truth.find(cat.targetid[i]);
    c.normal[i] = it != in.truth.end() && it->second == "normal";
    if (it != in.truth.end() && it->second != "normal") c.cls[i] = c.n_spectypes, any_anomaly = true;
  }
  if (any_anomaly) c.names.push_back("injected anomaly");
  c.normal_val.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) c.normal_val[i] = cat.split[i] == 1 && c.normal[i];
  return c;
}

// --- the spectra: typical, top outliers, the labelling view ------------------------------
// Per SPECTYPE, the rows nearest its median MSE (of its normal validation rows, else of all its
// normal rows). Adds them to `wanted`.
json typical_spectra(const merge::Catalogue& cat, const RowClasses& classes, std::int64_t n_examples,
                     std::set<std::int64_t>& wanted) {
  json typical = json::array();
  for (std::size_t c = 0; c < classes.n_spectypes; ++c) {
    const std::string& t = classes.names[c];
    const auto code = static_cast<std::uint8_t>(c);
    std::vector<std::int64_t> rows = typical_rows(cat.score[0], cat.spectype_code, code, classes.normal_val, n_examples);
    const bool val = !rows.empty();
    if (!val) rows = typical_rows(cat.score[0], cat.spectype_code, code, classes.normal, n_examples);  // no validation rows of this class: all its rows
    for (std::size_t k = 0; k < rows.size(); ++k) {
      typical.push_back({{"title", k == 0 ? fmt::format("typical {} (median MSE of its {})", t, val ? "validation rows" : "rows")
                                          : fmt::format("{} near the median MSE", t)},
                         {"row", rows[k]}});
      wanted.insert(rows[k]);
    }
  }
  return typical;
}

// The top rows of each score's ranking, and of learn's when the catalogue has it. Adds them to
// `wanted`.
json outlier_lists(const merge::Catalogue& cat, const LearnColumns& learned, std::int64_t n_top,
                   std::set<std::int64_t>& wanted) {
  json outliers;
  const std::vector<std::pair<std::string, const std::vector<std::int64_t>*>> rank_lists = {
      {"combined", &cat.rank_combined}, {"mse", &cat.rank[0]}, {"recon_logprob", &cat.rank[1]}, {"nof", &cat.rank[2]}};
  for (const auto& [name, rank] : rank_lists) {
    const std::vector<std::int64_t> rows = top_rows(*rank, n_top);
    outliers[name] = rows;
    wanted.insert(rows.begin(), rows.end());
  }
  // learn's columns, when `specvae learn` has added them to the catalogue: its list is one more
  // outlier list, its order the labelling view's, its labels where the view starts.
  if (learned.present) {
    const std::vector<std::int64_t> rows = top_rows(learned.order, n_top);
    outliers["learn"] = rows;
    wanted.insert(rows.begin(), rows.end());
  }
  return outliers;
}

struct LabelView {
  std::vector<std::int64_t> rows;  // in the order shown
  std::string source;              // what that order is, for the page
  json initial = json::object();   // TARGETID → label the view starts from
};

// The labelling view: learn_scores.csv's order when given, else learn's order in the
// catalogue, else the score `specvae learn` will re-rank (learn.score), most anomalous first,
// which is the order learn itself gives before any label. Labels from the catalogue, the CSV
// and --labels (in that order, a later one winning).
LabelView labelling_view(const Config& config, const ReportOptions& o, const Inputs& in, const LearnColumns& learned) {
  const merge::Catalogue& cat = in.cat;
  const std::int64_t n = cat.n, n_label = config.get_int("report.n_label");
  const std::string learn_score = config.get_string("learn.score");
  LabelView view;
  view.source = fmt::format("{} score (learn.score), most anomalous first", learn_score);
  std::vector<std::int64_t> order_tids;  // learn's order, to be matched to rows
  std::unordered_map<std::int64_t, int> initial_labels;
  if (!o.learn_scores.empty()) {
    const LearnOrder lo = read_learn_scores(o.learn_scores);
    for (std::size_t k = 0; k < lo.targetid.size(); ++k) {
      if (static_cast<std::int64_t>(order_tids.size()) < n_label) order_tids.push_back(lo.targetid[k]);
      if (lo.label[k] >= 0) initial_labels[lo.targetid[k]] = lo.label[k];
    }
    view.source = fmt::format("{} (active-learning order)", o.learn_scores.filename().string());
  }
  if (learned.present) {
    for (std::int64_t i = 0; i < n; ++i)
      if (learned.label[i] >= 0) initial_labels[cat.targetid[i]] = static_cast<int>(learned.label[i]);
    if (o.learn_scores.empty()) {
      view.rows = top_rows(learned.order, n_label);
      view.source = fmt::format("learn's order in the catalogue (learn_order: {} re-ranked with the labels, unlabelled first)",
                                learned.score.empty() ? std::string("a score") : learned.score);
    }
  }
  if (!o.labels.empty()) {
    // The page keys labels by TARGETID (a label given per survey and program shows on each).
    for (const learn::Label& l : learn::read_labels(o.labels)) {
      if (l.label >= 0) initial_labels[l.targetid] = l.label;
      else initial_labels.erase(l.targetid);
    }
  }
  if (!order_tids.empty()) {
    std::unordered_map<std::int64_t, std::int64_t> row_of;
    for (const std::int64_t t : order_tids) row_of.emplace(t, -1);
    for (std::int64_t i = 0; i < n; ++i)
      if (auto it = row_of.find(cat.targetid[i]); it != row_of.end() && it->second < 0) it->second = i;
    for (const std::int64_t t : order_tids) {
      const std::int64_t r = row_of.at(t);
      if (r < 0)
        throw InputError(fmt::format("{}: TARGETID {} is not in {}", o.learn_scores.string(), t, in.cat_path.string()));
      view.rows.push_back(r);
    }
  } else if (view.rows.empty()) {
    const std::vector<std::int64_t>* rank = &cat.rank_combined;
    for (int k = 0; k < merge::kNumScores; ++k)
      if (learn_score == merge::kScores[k].name) rank = &cat.rank[k];
    view.rows = top_rows(*rank, n_label);
  }
  for (const auto& [tid, label] : initial_labels) view.initial[std::to_string(tid)] = label;
  return view;
}

// Each shown row: its data, every catalogue column, and the model at its latent mean (x̂ at
// z = μ, as `specvae score` decoded it).
json spectra_json(const Inputs& in, const std::vector<std::int64_t>& rows, model::Vae& vae, const LearnColumns& learned) {
  const merge::Catalogue& cat = in.cat;
  const int latent = cat.latent, bins_in = in.info.n_bins;
  const std::map<std::int64_t, DatasetRows> data = read_rows(in.dataset, rows);
  const merge::Catalogue shown = merge::read_catalogue_rows(in.cat_path, rows);  // every column of those rows
  std::vector<float> xhat(rows.size() * static_cast<std::size_t>(bins_in));
  {
    std::vector<float> mu(rows.size() * static_cast<std::size_t>(latent));
    for (std::size_t k = 0; k < rows.size(); ++k)
      std::copy_n(cat.latent_mu.begin() + rows[k] * latent, latent, mu.begin() + k * latent);
    if (!rows.empty()) vae.decode(mu, static_cast<std::int64_t>(rows.size()), xhat);
  }
  const std::vector<double> learn_trained =
      learned.present ? read_learn_trained_score(in.cat_path, cat.n, rows) : std::vector<double>();
  const auto truth_of = [&](std::int64_t row) -> json {
    const auto it = in.truth.find(cat.targetid[row]);
    return it == in.truth.end() ? json(nullptr) : json(it->second);
  };
  const auto mu_of = [&](std::int64_t r) {  // the latent mean, for the corner plot's click-through
    json m = json::array();
    for (int j = 0; j < latent; ++j) m.push_back(rounded(cat.latent_mu[r * latent + j], 3));
    return m;
  };
  json spectra = json::object();
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const std::int64_t r = rows[k];
    const DatasetRows& d = data.at(r);
    if (d.targetid[0] != cat.targetid[r])
      throw InputError(fmt::format("{}: row {} has TARGETID {}, the catalogue {}", in.dataset.string(), r, d.targetid[0],
                                   cat.targetid[r]));
    json flux = json::array(), model_flux = json::array(), sigma = json::array(), mask = json::array();
    for (int b = 0; b < bins_in; ++b) {
      flux.push_back(rounded(d.flux[b], 4));
      model_flux.push_back(rounded(xhat[k * bins_in + b], 4));
      sigma.push_back(d.ivar[b] > 0 ? rounded(1.0 / std::sqrt(static_cast<double>(d.ivar[b])), 3) : json(nullptr));
      if (d.mask[b]) mask.push_back(b);
    }
    SPECVAE_CHECK(shown.targetid[k] == cat.targetid[r], "{}: row {} read back as TARGETID {}, not {}",
                  in.cat_path.string(), r, shown.targetid[k], cat.targetid[r]);
    json s = {{"row", r},
              {"targetid", std::to_string(cat.targetid[r])},
              {"z", finite_or_null(shown.z[k])},
              {"snr", finite_or_null(shown.snr[k])},
              {"spectype", shown.spectype[k]},
              {"truth", truth_of(r)},
              {"ra", finite_or_null(shown.ra[k])},
              {"dec", finite_or_null(shown.dec[k])},
              {"split", shown.split[k] == 1 ? "validation" : "train"},
              {"scores",
               {{"mse", finite_or_null(shown.score[0][k])},
                {"recon_logprob", finite_or_null(shown.score[1][k])},
                {"nof", finite_or_null(shown.score[2][k])},
                {"combined", finite_or_null(shown.combined[k])}}},
              {"ranks",
               {{"mse", shown.rank[0][k]}, {"recon_logprob", shown.rank[1][k]}, {"nof", shown.rank[2][k]}, {"combined", shown.rank_combined[k]}}},
              {"mu", mu_of(r)},
              {"flux", std::move(flux)},
              {"model", std::move(model_flux)},
              {"sigma", std::move(sigma)},
              {"mask", std::move(mask)}};
    if (learned.present) {
      s["scores"]["learn"] = finite_or_null(learn_trained[k]);
      s["ranks"]["learn"] = learned.order[r];
    }
    spectra[std::to_string(r)] = std::move(s);
  }
  return spectra;
}

// --- histograms -----------------------------------------------------------------------
json histograms(const merge::Catalogue& cat, const RowClasses& classes, int bins) {
  json hist;
  const ClassHistogram h = class_histogram(cat.score[0], classes.cls, classes.names, bins, /*log_x=*/true);
  json counts = json::object();
  for (std::size_t c = 0; c < h.classes.size(); ++c) counts[h.classes[c]] = h.counts[c];
  hist["mse"] = {{"edges", h.edges}, {"log_x", true}, {"threshold", finite_or_null(cat.threshold[0])},
                 {"label", "weighted MSE (paper Eq. 6)"}, {"counts", counts}, {"left_out", h.left_out}};
  std::vector<double> lof(static_cast<std::size_t>(cat.n));
  for (std::int64_t i = 0; i < cat.n; ++i) lof[i] = -cat.score[2][i];
  const ClassHistogram g = class_histogram(lof, classes.cls, classes.names, bins, /*log_x=*/true);
  json counts_lof = json::object();
  for (std::size_t c = 0; c < g.classes.size(); ++c) counts_lof[g.classes[c]] = g.counts[c];
  hist["nof"] = {{"edges", g.edges}, {"log_x", true}, {"threshold", finite_or_null(-cat.threshold[2])},
                 {"label", "LOF = −NOF (k = " + std::to_string(cat.lof_k) + ")"}, {"counts", counts_lof},
                 {"left_out", g.left_out}};
  return hist;
}

// --- latent space: a subsample for the corner plot, traversals from the centroid ----------
// The mean and σ of each latent dimension over the catalogue's finite values.
struct LatentMoments {
  std::vector<double> centre, spread;
};

LatentMoments latent_moments(const merge::Catalogue& cat) {
  const int latent = cat.latent;
  const std::int64_t n = cat.n;
  LatentMoments m{std::vector<double>(static_cast<std::size_t>(latent), 0.0),
                  std::vector<double>(static_cast<std::size_t>(latent), 0.0)};
  std::vector<std::int64_t> finite_n(static_cast<std::size_t>(latent), 0);
  for (std::int64_t i = 0; i < n; ++i)
    for (int j = 0; j < latent; ++j)
      if (const double v = cat.latent_mu[i * latent + j]; std::isfinite(v)) m.centre[j] += v, ++finite_n[j];
  for (int j = 0; j < latent; ++j) m.centre[j] /= std::max<std::int64_t>(finite_n[j], 1);
  for (std::int64_t i = 0; i < n; ++i)
    for (int j = 0; j < latent; ++j)
      if (const double v = cat.latent_mu[i * latent + j]; std::isfinite(v))
        m.spread[j] += (v - m.centre[j]) * (v - m.centre[j]);
  for (int j = 0; j < latent; ++j) m.spread[j] = std::sqrt(m.spread[j] / std::max<std::int64_t>(finite_n[j], 1));
  return m;
}

// The corner plot's points: the most anomalous rows by the combined score (up to a quarter of
// the points), then an even stride through the rest.
json latent_sample(const merge::Catalogue& cat, const RowClasses& classes, bool has_truth, std::int64_t latent_points) {
  const int latent = cat.latent;
  const std::int64_t n = cat.n;
  const std::int64_t k = std::min(n, latent_points);
  std::vector<std::int64_t> pick = top_rows(cat.rank_combined, std::min(k / 4, cat.n_flagged));
  std::vector<std::uint8_t> taken(static_cast<std::size_t>(n), 0);
  for (const std::int64_t r : pick) taken[r] = 1;
  const std::int64_t rest = k - static_cast<std::int64_t>(pick.size());
  for (std::int64_t q = 0; q < rest; ++q) {
    std::int64_t r = static_cast<std::int64_t>((static_cast<double>(q) + 0.5) * static_cast<double>(n) / static_cast<double>(rest));
    r = std::min(r, n - 1);
    std::int64_t up = r, down = r;  // the nearest row not taken yet (there is one: k ≤ n)
    while (taken[up] && taken[down]) up = std::min(up + 1, n - 1), down = std::max<std::int64_t>(down - 1, 0);
    r = taken[up] ? down : up;
    taken[r] = 1;
    pick.push_back(r);
  }
  json points = json::array();
  for (const std::int64_t r : pick) {
    json p = json::array();
    for (int j = 0; j < latent; ++j) p.push_back(rounded(cat.latent_mu[r * latent + j], 3));
    p.push_back(classes.cls[r]);
    points.push_back(std::move(p));
  }
  const std::int64_t n_top_picked = std::min(k / 4, cat.n_flagged);
  const std::string sample =
      k == n ? std::string("all rows")
             : fmt::format("the {} most anomalous by the combined score and an even stride through the other rows", n_top_picked);
  return {{"dims", latent}, {"classes", classes.names}, {"colour_by", has_truth ? "spectype and truth" : "spectype"},
          {"sample", sample}, {"points", std::move(points)}};
}

// Decoded spectra along each latent axis through the centroid, ±sigma of that axis's spread.
json traversals(model::Vae& vae, const LatentMoments& m, int trav_steps, double trav_sigma, int bins_in) {
  const int latent = static_cast<int>(m.centre.size());
  std::vector<double> steps(static_cast<std::size_t>(trav_steps));
  for (int s = 0; s < trav_steps; ++s)
    steps[s] = trav_steps == 1 ? 0.0 : -trav_sigma + 2.0 * trav_sigma * s / (trav_steps - 1);
  std::vector<float> z(static_cast<std::size_t>(latent) * trav_steps * latent);
  for (int j = 0; j < latent; ++j)
    for (int s = 0; s < trav_steps; ++s)
      for (int q = 0; q < latent; ++q)
        z[(static_cast<std::size_t>(j) * trav_steps + s) * latent + q] =
            static_cast<float>(m.centre[q] + (q == j ? steps[s] * m.spread[j] : 0.0));
  std::vector<float> out(static_cast<std::size_t>(latent) * trav_steps * bins_in);
  vae.decode(z, static_cast<std::int64_t>(latent) * trav_steps, out);
  json per_dim = json::array();
  for (int j = 0; j < latent; ++j) {
    json per_step = json::array();
    for (int s = 0; s < trav_steps; ++s) {
      json spec = json::array();
      for (int b = 0; b < bins_in; ++b) spec.push_back(rounded(out[(static_cast<std::size_t>(j) * trav_steps + s) * bins_in + b], 4));
      per_step.push_back(std::move(spec));
    }
    per_dim.push_back(std::move(per_step));
  }
  return {{"steps", steps}, {"unit", "σ of μ over the catalogue"}, {"spectra", std::move(per_dim)}};
}

// --- training metrics -----------------------------------------------------------------
struct TrainingRecord {
  json metrics = json::array();  // metrics.jsonl, one object an epoch
  json summary = nullptr;        // train's verdict (train_summary.json), when there is one
};

// metrics.jsonl (--metrics, else beside the checkpoint) and train_summary.json beside it: the
// page warns when the model did not converge or sits far above the noise floor. What is
// missing becomes a note.
TrainingRecord training_record(const ReportOptions& o, const fs::path& ckpt_path, std::vector<std::string>& notes) {
  TrainingRecord t;
  const fs::path mpath = o.metrics.empty() ? ckpt_path.parent_path() / "metrics.jsonl" : o.metrics;
  if (fs::exists(mpath)) t.metrics = read_metrics(mpath);
  else if (!o.metrics.empty()) throw InputError(fmt::format("{}: no such metrics file", mpath.string()));
  else notes.push_back(fmt::format("no loss curves: {} not found", mpath.string()));
  const fs::path spath = (o.metrics.empty() ? ckpt_path.parent_path() : o.metrics.parent_path()) / "train_summary.json";
  if (fs::exists(spath)) {
    std::ifstream in(spath);
    try {
      const json j = json::parse(in);
      if (j.is_object()) {
        t.summary = json::object();
        for (const char* key : {"converged", "reason", "final_val_mse", "epochs", "steps", "schedule", "final_lr", "best_epoch"})
          if (j.contains(key)) t.summary[key] = j[key];
      }
    } catch (const json::exception& e) {
      notes.push_back(fmt::format("no model-quality verdict: {} is not JSON ({})", spath.string(), e.what()));
    }
  }
  return t;
}

// The tables at the top of the page, with the page data (JSON) filled into the template.
std::string page_html(const Inputs& in, const json& page) {
  const merge::Catalogue& cat = in.cat;
  const std::vector<merge::ClassSummary> classes = merge::class_summaries(cat);
  std::vector<merge::ClassSummary> classes_normal;
  std::vector<merge::DetectionRow> detection;
  if (!in.truth.empty()) {
    classes_normal = merge::class_summaries(cat, &in.truth);
    detection = merge::detection_quality(cat, in.truth);
  }
  const std::string title = fmt::format("specvae report: {} spectra", cat.n);
  // Strings that are not UTF-8 (a Latin-1 truth table, a file name) show U+FFFD.
  return fill_template(page_template(), title,
                       tables_html(cat, in.cat_path, in.dataset, in.ckpt_path, classes, classes_normal, detection),
                       page.dump(-1, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace));
}

}  // namespace

ReportResult run_report(const StageContext& ctx, const ReportOptions& o) {
  const Config& config = ctx.config();
  const auto t0 = std::chrono::steady_clock::now();
  if (o.out.empty()) throw ConfigError("report: no output file given");
  Inputs in = open_inputs(o);
  const merge::Catalogue& cat = in.cat;
  ReportResult res;
  res.rows = cat.n;
  const RowClasses classes = row_classes(in);

  std::set<std::int64_t> wanted;  // the rows whose spectra the page shows
  json typical = typical_spectra(cat, classes, config.get_int("report.n_examples"), wanted);
  const LearnColumns learned = read_learn_columns(in.cat_path, cat.n);
  json outliers = outlier_lists(cat, learned, config.get_int("report.n_top"), wanted);
  LabelView labelling = labelling_view(config, o, in, learned);
  wanted.insert(labelling.rows.begin(), labelling.rows.end());

  const std::vector<std::int64_t> rows(wanted.begin(), wanted.end());
  std::shared_ptr<model::Backend> backend =
      model::make_backend("cpu", static_cast<int>(config.get_int("train.threads")), "batch-invariant");
  model::Vae vae(in.ckpt.shape, std::move(in.ckpt.params), backend, std::move(in.ckpt.scaling));
  json spectra = spectra_json(in, rows, vae, learned);
  json hist = histograms(cat, classes, static_cast<int>(config.get_int("report.hist_bins")));
  json latent_json = latent_sample(cat, classes, !in.truth.empty(), config.get_int("report.latent_points"));
  json traversal = traversals(vae, latent_moments(cat), static_cast<int>(config.get_int("report.traversal_steps")),
                              config.get_double("report.traversal_sigma"), in.info.n_bins);
  TrainingRecord training = training_record(o, in.ckpt_path, res.notes);

  json lines = json::array();
  for (const Line& l : marked_lines()) lines.push_back({{"name", l.name}, {"wave", l.wave}, {"priority", l.priority}});
  // Browser-kept labels belong to the spectra, not the model: a retrain on the same dataset
  // finds them again; another dataset starts afresh.
  const std::string storage_key = "specvae-labels-" + fnv1a_hex(cat.dataset_hash);
  const std::size_t latent_points = latent_json["points"].size();
  const json page = {
      {"meta",
       {{"n_rows", cat.n}, {"latent_dim", cat.latent}, {"top_fraction", cat.top_fraction}, {"n_flagged", cat.n_flagged},
        {"storage_key", storage_key},
        {"has_truth", !in.truth.empty()}}},
      {"metrics", std::move(training.metrics)},
      {"training_summary", std::move(training.summary)},
      {"hist", std::move(hist)},
      {"wave", in.info.wave},
      {"lines", std::move(lines)},
      {"spectra", std::move(spectra)},
      {"typical", std::move(typical)},
      {"outliers", std::move(outliers)},
      {"latent", std::move(latent_json)},
      {"traversal", std::move(traversal)},
      {"labelling", {{"rows", labelling.rows}, {"source", labelling.source}, {"initial", std::move(labelling.initial)}}},
  };

  // Written atomically: a reader never sees half a page. An existing folder gets report.html
  // inside it.
  const fs::path out = fs::is_directory(o.out) ? o.out / "report.html" : o.out;
  res.html = out;
  if (!out.parent_path().empty()) fs::create_directories(out.parent_path());
  write_file_atomically(out, page_html(in, page));
  res.bytes = fs::file_size(out);
  res.spectra = static_cast<std::int64_t>(rows.size());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.summary = fmt::format("report: {} ({:.1f} MB; {} rows, {} spectra shown, {} latent points) in {:.1f} s\n",
                            out.string(), static_cast<double>(res.bytes) / 1e6, cat.n, res.spectra, latent_points, secs);
  for (const std::string& note : res.notes) res.summary += "  note: " + note + "\n";
  return res;
}

}  // namespace specvae::report
