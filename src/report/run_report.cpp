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


}  // namespace

ReportResult run_report(const Config& config, const ReportOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.out.empty()) throw ConfigError("report: no output file given");
  const fs::path cat_path = merge::resolve_catalogue_path(o.catalogue);
  // Only the columns needed over every row (ranks, MSE, NOF, class, split, latent means; with a
  // truth table also what the detection table needs); the rest for the few hundred rows the
  // page shows, below.
  merge::CatalogueColumns columns;
  columns.positions = false;
  columns.all_scores = !o.truth.empty();
  columns.spectype_strings = false;
  const merge::Catalogue cat = merge::read_catalogue(cat_path, columns);
  if (cat.n == 0) throw InputError(fmt::format("{}: the catalogue has no rows", cat_path.string()));
  const std::int64_t n = cat.n;
  const int latent = cat.latent;
  ReportResult res;
  res.rows = n;

  const std::int64_t n_top = config.get_int("report.n_top");
  const std::int64_t n_examples = config.get_int("report.n_examples");
  const std::int64_t n_label = config.get_int("report.n_label");
  const std::int64_t latent_points = config.get_int("report.latent_points");
  const int bins = static_cast<int>(config.get_int("report.hist_bins"));
  const double trav_sigma = config.get_double("report.traversal_sigma");
  const int trav_steps = static_cast<int>(config.get_int("report.traversal_steps"));

  // --- the inputs beside the catalogue, checked to be the ones it was made from -----------
  const fs::path dataset = o.dataset.empty() ? fs::path(cat.dataset_path) : o.dataset;
  if (dataset.empty() || !fs::exists(dataset))
    throw InputError(fmt::format("{}: dataset not found (from {}; give it with --dataset)", dataset.string(),
                                 o.dataset.empty() ? cat_path.string() + " attribute dataset_path" : "--dataset"));
  const DatasetInfo info = read_dataset_info(MPI_COMM_NULL, dataset);
  if (info.rows != n || (!cat.dataset_hash.empty() && info.dataset_hash != cat.dataset_hash))
    throw InputError(fmt::format("{}: {} rows with hash {}, but {} was scored on {} rows with hash {}: not its dataset",
                                 dataset.string(), info.rows, info.dataset_hash, cat_path.string(), n, cat.dataset_hash));
  const fs::path ckpt_path = o.checkpoint.empty() ? fs::path(cat.checkpoint_path) : o.checkpoint;
  if (ckpt_path.empty() || !fs::exists(ckpt_path))
    throw InputError(fmt::format("{}: checkpoint not found (from {}; give it with --checkpoint)", ckpt_path.string(),
                                 o.checkpoint.empty() ? cat_path.string() + " attribute checkpoint_path" : "--checkpoint"));
  model::Checkpoint ckpt = model::load_checkpoint(ckpt_path);
  if (const std::string h = score::model_hash(ckpt); !cat.model_hash.empty() && h != cat.model_hash)
    throw InputError(fmt::format("{}: model hash {}, but {} was scored with model {}: not its model",
                                 ckpt_path.string(), h, cat_path.string(), cat.model_hash));
  if (ckpt.shape.latent != latent || ckpt.shape.n_input != info.n_bins)
    throw InputError(fmt::format("{}: a {}-bin model with a {}-d latent space; the catalogue has {} and the dataset {} bins",
                                 ckpt_path.string(), ckpt.shape.n_input, ckpt.shape.latent, latent, info.n_bins));

  std::map<std::int64_t, std::string> truth;
  if (!o.truth.empty()) truth = merge::read_truth_csv(o.truth);
  // Class of each row, an index into class_names: its SPECTYPE, or "injected anomaly" when
  // the truth table says so (one byte a row: the catalogue can hold tens of millions).
  std::vector<std::string> class_names = cat.spectype_names;  // sorted; cat.spectype_code indexes it
  SPECVAE_CHECK(class_names.size() < 255, "{} SPECTYPE values in {}", class_names.size(), cat_path.string());
  const auto anomaly_class = static_cast<std::uint8_t>(class_names.size());
  std::vector<std::uint8_t> cls(static_cast<std::size_t>(n)), normal(static_cast<std::size_t>(n), 1);
  {
    bool any_anomaly = false;
    for (std::int64_t i = 0; i < n; ++i) {
      cls[i] = cat.spectype_code[i];
      if (truth.empty()) continue;
      const auto it = truth.find(cat.targetid[i]);
      normal[i] = it != truth.end() && it->second == "normal";
      if (it != truth.end() && it->second != "normal") cls[i] = anomaly_class, any_anomaly = true;
    }
    if (any_anomaly) class_names.push_back("injected anomaly");
  }
  const auto truth_of = [&](std::int64_t row) -> json {
    const auto it = truth.find(cat.targetid[row]);
    return it == truth.end() ? json(nullptr) : json(it->second);
  };
  std::vector<std::uint8_t> normal_val(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) normal_val[i] = cat.split[i] == 1 && normal[i];

  // --- the spectra: typical, top outliers, the labelling view ------------------------------
  json typical = json::array();
  std::set<std::int64_t> wanted;
  for (std::size_t c = 0; c < anomaly_class; ++c) {  // the SPECTYPEs
    const std::string& t = class_names[c];
    const auto code = static_cast<std::uint8_t>(c);
    std::vector<std::int64_t> rows = typical_rows(cat.score[0], cat.spectype_code, code, normal_val, n_examples);
    const bool val = !rows.empty();
    if (!val) rows = typical_rows(cat.score[0], cat.spectype_code, code, normal, n_examples);  // no validation rows of this class: all its rows
    for (std::size_t k = 0; k < rows.size(); ++k) {
      typical.push_back({{"title", k == 0 ? fmt::format("typical {} (median MSE of its {})", t, val ? "validation rows" : "rows")
                                          : fmt::format("{} near the median MSE", t)},
                         {"row", rows[k]}});
      wanted.insert(rows[k]);
    }
  }
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
  const LearnColumns learned = read_learn_columns(cat_path, n);
  if (learned.present) {
    const std::vector<std::int64_t> rows = top_rows(learned.order, n_top);
    outliers["learn"] = rows;
    wanted.insert(rows.begin(), rows.end());
  }

  // The labelling view: learn's order when given, else the combined score's.
  std::vector<std::int64_t> label_rows;
  json initial = json::object();
  // Without learn's order: the score `specvae learn` will re-rank (learn.score), most
  // anomalous first, which is the order learn itself gives before any label.
  const std::string learn_score = config.get_string("learn.score");
  std::string label_source = fmt::format("{} score (learn.score), most anomalous first", learn_score);
  {
    std::vector<std::int64_t> order_tids;  // learn's order, to be matched to rows
    std::unordered_map<std::int64_t, int> initial_labels;
    if (!o.learn_scores.empty()) {
      const LearnOrder lo = read_learn_scores(o.learn_scores);
      for (std::size_t k = 0; k < lo.targetid.size(); ++k) {
        if (static_cast<std::int64_t>(order_tids.size()) < n_label) order_tids.push_back(lo.targetid[k]);
        if (lo.label[k] >= 0) initial_labels[lo.targetid[k]] = lo.label[k];
      }
      label_source = fmt::format("{} (active-learning order)", o.learn_scores.filename().string());
    }
    if (learned.present) {
      for (std::int64_t i = 0; i < n; ++i)
        if (learned.label[i] >= 0) initial_labels[cat.targetid[i]] = static_cast<int>(learned.label[i]);
      if (o.learn_scores.empty()) {
        label_rows = top_rows(learned.order, n_label);
        label_source = fmt::format("learn's order in the catalogue (learn_order: {} re-ranked with the labels, unlabelled first)",
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
          throw InputError(fmt::format("{}: TARGETID {} is not in {}", o.learn_scores.string(), t, cat_path.string()));
        label_rows.push_back(r);
      }
    } else if (label_rows.empty()) {
      const std::vector<std::int64_t>* rank = &cat.rank_combined;
      for (int k = 0; k < merge::kNumScores; ++k)
        if (learn_score == merge::kScores[k].name) rank = &cat.rank[k];
      label_rows = top_rows(*rank, n_label);
    }
    for (const auto& [tid, label] : initial_labels) initial[std::to_string(tid)] = label;
    wanted.insert(label_rows.begin(), label_rows.end());
  }

  // Read the wanted rows, decode their latent means (x̂ at z = μ, as `specvae score` did).
  const std::vector<std::int64_t> rows(wanted.begin(), wanted.end());
  const std::map<std::int64_t, DatasetRows> data = read_rows(dataset, rows);
  const merge::Catalogue shown = merge::read_catalogue_rows(cat_path, rows);  // every column of those rows
  const int bins_in = info.n_bins;
  std::shared_ptr<model::Backend> backend = model::make_backend("cpu", static_cast<int>(config.get_int("train.threads")), "batch-invariant");
  model::Vae vae(ckpt.shape, std::move(ckpt.params), backend, std::move(ckpt.scaling));
  std::vector<float> xhat(rows.size() * static_cast<std::size_t>(bins_in));
  {
    std::vector<float> mu(rows.size() * static_cast<std::size_t>(latent));
    for (std::size_t k = 0; k < rows.size(); ++k)
      std::copy_n(cat.latent_mu.begin() + rows[k] * latent, latent, mu.begin() + k * latent);
    if (!rows.empty()) vae.decode(mu, static_cast<std::int64_t>(rows.size()), xhat);
  }
  const std::vector<double> learn_trained =
      learned.present ? read_learn_trained_score(cat_path, n, rows) : std::vector<double>();
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
      throw InputError(fmt::format("{}: row {} has TARGETID {}, the catalogue {}", dataset.string(), r, d.targetid[0],
                                   cat.targetid[r]));
    json flux = json::array(), model_flux = json::array(), sigma = json::array(), mask = json::array();
    for (int b = 0; b < bins_in; ++b) {
      flux.push_back(rounded(d.flux[b], 4));
      model_flux.push_back(rounded(xhat[k * bins_in + b], 4));
      sigma.push_back(d.ivar[b] > 0 ? rounded(1.0 / std::sqrt(static_cast<double>(d.ivar[b])), 3) : json(nullptr));
      if (d.mask[b]) mask.push_back(b);
    }
    SPECVAE_CHECK(shown.targetid[k] == cat.targetid[r], "{}: row {} read back as TARGETID {}, not {}", cat_path.string(), r,
                  shown.targetid[k], cat.targetid[r]);
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

  // --- histograms -----------------------------------------------------------------------
  json hist;
  {
    const ClassHistogram h = class_histogram(cat.score[0], cls, class_names, bins, /*log_x=*/true);
    json counts = json::object();
    for (std::size_t c = 0; c < h.classes.size(); ++c) counts[h.classes[c]] = h.counts[c];
    hist["mse"] = {{"edges", h.edges}, {"log_x", true}, {"threshold", finite_or_null(cat.threshold[0])},
                   {"label", "weighted MSE (paper Eq. 6)"}, {"counts", counts}, {"left_out", h.left_out}};
    std::vector<double> lof(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) lof[i] = -cat.score[2][i];
    const ClassHistogram g = class_histogram(lof, cls, class_names, bins, /*log_x=*/true);
    json counts_lof = json::object();
    for (std::size_t c = 0; c < g.classes.size(); ++c) counts_lof[g.classes[c]] = g.counts[c];
    hist["nof"] = {{"edges", g.edges}, {"log_x", true}, {"threshold", finite_or_null(-cat.threshold[2])},
                   {"label", "LOF = −NOF (k = " + std::to_string(cat.lof_k) + ")"}, {"counts", counts_lof},
                   {"left_out", g.left_out}};
  }

  // --- latent space: a subsample for the corner plot, traversals from the centroid ----------
  json latent_json;
  std::vector<double> centre(static_cast<std::size_t>(latent), 0.0), spread(static_cast<std::size_t>(latent), 0.0);
  {
    std::vector<std::int64_t> finite_n(static_cast<std::size_t>(latent), 0);
    for (std::int64_t i = 0; i < n; ++i)
      for (int j = 0; j < latent; ++j)
        if (const double v = cat.latent_mu[i * latent + j]; std::isfinite(v)) centre[j] += v, ++finite_n[j];
    for (int j = 0; j < latent; ++j) centre[j] /= std::max<std::int64_t>(finite_n[j], 1);
    for (std::int64_t i = 0; i < n; ++i)
      for (int j = 0; j < latent; ++j)
        if (const double v = cat.latent_mu[i * latent + j]; std::isfinite(v)) spread[j] += (v - centre[j]) * (v - centre[j]);
    for (int j = 0; j < latent; ++j) spread[j] = std::sqrt(spread[j] / std::max<std::int64_t>(finite_n[j], 1));

    // The most anomalous rows by the combined score (up to a quarter of the points), then an
    // even stride through the rest.
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
      p.push_back(cls[r]);
      points.push_back(std::move(p));
    }
    const std::int64_t n_top_picked = std::min(k / 4, cat.n_flagged);
    const std::string sample =
        k == n ? std::string("all rows")
               : fmt::format("the {} most anomalous by the combined score and an even stride through the other rows", n_top_picked);
    latent_json = {{"dims", latent}, {"classes", class_names}, {"colour_by", truth.empty() ? "spectype" : "spectype and truth"},
                   {"sample", sample}, {"points", std::move(points)}};
  }
  json traversal;
  {
    std::vector<double> steps(static_cast<std::size_t>(trav_steps));
    for (int s = 0; s < trav_steps; ++s)
      steps[s] = trav_steps == 1 ? 0.0 : -trav_sigma + 2.0 * trav_sigma * s / (trav_steps - 1);
    std::vector<float> z(static_cast<std::size_t>(latent) * trav_steps * latent);
    for (int j = 0; j < latent; ++j)
      for (int s = 0; s < trav_steps; ++s)
        for (int m = 0; m < latent; ++m)
          z[(static_cast<std::size_t>(j) * trav_steps + s) * latent + m] =
              static_cast<float>(centre[m] + (m == j ? steps[s] * spread[j] : 0.0));
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
    traversal = {{"steps", steps}, {"unit", "σ of μ over the catalogue"}, {"spectra", std::move(per_dim)}};
  }

  // --- training metrics -----------------------------------------------------------------
  json metrics = json::array();
  {
    const fs::path mpath = o.metrics.empty() ? ckpt_path.parent_path() / "metrics.jsonl" : o.metrics;
    if (fs::exists(mpath)) metrics = read_metrics(mpath);
    else if (!o.metrics.empty()) throw InputError(fmt::format("{}: no such metrics file", mpath.string()));
    else res.notes.push_back(fmt::format("no loss curves: {} not found", mpath.string()));
  }
  // train's verdict (train_summary.json beside the metrics): the page warns when the model did
  // not converge or sits far above the noise floor.
  json training_summary = nullptr;
  {
    const fs::path spath = (o.metrics.empty() ? ckpt_path.parent_path() : o.metrics.parent_path()) / "train_summary.json";
    if (fs::exists(spath)) {
      std::ifstream in(spath);
      try {
        const json j = json::parse(in);
        if (j.is_object()) {
          training_summary = json::object();
          for (const char* key : {"converged", "reason", "final_val_mse", "epochs", "steps", "schedule", "final_lr", "best_epoch"})
            if (j.contains(key)) training_summary[key] = j[key];
        }
      } catch (const json::exception& e) {
        res.notes.push_back(fmt::format("no model-quality verdict: {} is not JSON ({})", spath.string(), e.what()));
      }
    }
  }

  json lines = json::array();
  for (const Line& l : marked_lines()) lines.push_back({{"name", l.name}, {"wave", l.wave}, {"priority", l.priority}});
  // Browser-kept labels belong to the spectra, not the model: a retrain on the same dataset
  // finds them again; another dataset starts afresh.
  const std::string storage_key = "specvae-labels-" + fnv1a_hex(cat.dataset_hash);
  json page = {
      {"meta",
       {{"n_rows", n}, {"latent_dim", latent}, {"top_fraction", cat.top_fraction}, {"n_flagged", cat.n_flagged},
        {"storage_key", storage_key},
        {"has_truth", !truth.empty()}}},
      {"metrics", std::move(metrics)},
      {"training_summary", std::move(training_summary)},
      {"hist", std::move(hist)},
      {"wave", info.wave},
      {"lines", std::move(lines)},
      {"spectra", std::move(spectra)},
      {"typical", std::move(typical)},
      {"outliers", std::move(outliers)},
      {"latent", std::move(latent_json)},
      {"traversal", std::move(traversal)},
      {"labelling", {{"rows", label_rows}, {"source", label_source}, {"initial", std::move(initial)}}},
  };

  const std::vector<merge::ClassSummary> classes = merge::class_summaries(cat);
  std::vector<merge::ClassSummary> classes_normal;
  std::vector<merge::DetectionRow> detection;
  if (!truth.empty()) {
    classes_normal = merge::class_summaries(cat, &truth);
    detection = merge::detection_quality(cat, truth);
  }
  const std::string title = fmt::format("specvae report: {} spectra", n);
  const std::string html = fill_template(page_template(), title,
                                         tables_html(cat, cat_path, dataset, ckpt_path, classes, classes_normal, detection),
                                         page.dump(-1, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace));

  // Strings that are not UTF-8 (a Latin-1 truth table, a file name) show U+FFFD; the page is
  // written. Atomically: a reader never sees half a page.
  // An existing folder gets report.html inside it.
  const fs::path out = fs::is_directory(o.out) ? o.out / "report.html" : o.out;
  res.html = out;
  if (!out.parent_path().empty()) fs::create_directories(out.parent_path());
  write_file_atomically(out, html);
  res.bytes = fs::file_size(out);
  res.spectra = static_cast<std::int64_t>(rows.size());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.summary = fmt::format("report: {} ({:.1f} MB; {} rows, {} spectra shown, {} latent points) in {:.1f} s\n",
                            out.string(), static_cast<double>(res.bytes) / 1e6, n, res.spectra,
                            page["latent"]["points"].size(), secs);
  for (const std::string& note : res.notes) res.summary += "  note: " + note + "\n";
  return res;
}

}  // namespace specvae::report
