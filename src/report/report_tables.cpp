// The tables at the top of the report page, as HTML: provenance, weighted MSE by class (all
// rows and, with a truth table, without the injected anomalies) and detection quality.
#include <cmath>

#include <fmt/format.h>

#include "report_inputs.hpp"
#include "specvae/core/version.hpp"
#include "specvae/report/report.hpp"

namespace specvae::report {

namespace {
std::string fmt_num(double v, const char* spec = "{:.4g}") {
  return std::isfinite(v) ? fmt::format(fmt::runtime(spec), v) : std::string("–");
}
}  // namespace

std::string tables_html(const merge::Catalogue& cat, const std::filesystem::path& cat_path,
                        const std::filesystem::path& dataset, const std::filesystem::path& checkpoint,
                        const std::vector<merge::ClassSummary>& classes,
                        const std::vector<merge::ClassSummary>& classes_normal,
                        const std::vector<merge::DetectionRow>& detection) {
  std::string h;
  const auto row = [&](const std::string& k, const std::string& v) {
    h += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", html_escape(k), html_escape(v));
  };
  h += "<h3>Run</h3>\n<table class=\"provenance\">\n";
  row("catalogue", cat_path.string());
  row("rows", fmt::format("{}", cat.n));
  row("dataset", dataset.string() + "  (hash " + cat.dataset_hash + ")");
  row("model", checkpoint.string() + "  (hash " + cat.model_hash + ")");
  row("scored with", fmt::format("{}, config hash {}, {} shard(s)", cat.code_version, cat.config_hash, cat.n_shards));
  row("LOF", fmt::format("k = {}, exact kNN by {}", cat.lof_k, cat.knn_method));
  row("reconstruction probability", fmt::format("{} latent samples", cat.recon_samples));
  row("PCA yardstick (pca_mse)", fmt::format("{} eigenspectra of {} training spectra", cat.pca_k, cat.pca_sample_rows));
  row("top fraction", fmt::format("{:g} ({} rows flagged per score)", cat.top_fraction, cat.n_flagged));
  row("thresholds", fmt::format("MSE ≥ {}, recon. log-prob ≤ {}, NOF ≤ {}, PCA MSE ≥ {}, combined ≥ {}",
                                fmt_num(cat.threshold[0]), fmt_num(cat.threshold[1]), fmt_num(cat.threshold[2]),
                                fmt_num(cat.threshold[merge::kPcaScore]), fmt_num(cat.threshold_combined)));
  row("report", version_string());
  h += "</table>\n";

  const auto class_table = [&](const std::vector<merge::ClassSummary>& rows, const std::string& caption) {
    h += fmt::format("<h3>{}</h3>\n<table class=\"classes\">\n<tr><th>class</th><th>rows</th><th>validation rows</th>"
                     "<th>mean MSE (validation)</th><th>median MSE (validation)</th><th>mean MSE (all)</th>"
                     "<th>PCA yardstick: mean (validation)</th><th>PCA yardstick: median (validation)</th></tr>\n",
                     html_escape(caption));
    for (const merge::ClassSummary& k : rows)
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                       html_escape(k.spectype), k.n_all, k.n_val, fmt_num(k.mean_mse_val, "{:.3f}"),
                       fmt_num(k.median_mse_val, "{:.3f}"), fmt_num(k.mean_mse_all, "{:.3f}"),
                       fmt_num(k.mean_pca_val, "{:.3f}"), fmt_num(k.median_pca_val, "{:.3f}"));
    h += "</table>\n";
  };
  class_table(classes, "Weighted MSE (paper Eq. 6) by class");
  if (!classes_normal.empty()) class_table(classes_normal, "The same, injected anomalies left out (truth table)");
  if (!detection.empty()) {
    h += fmt::format("<h3>Detection of the injected anomalies (truth table)</h3>\n<p>Recall in the top {:g}% by each "
                     "score, and ROC AUC against normal rows; the PCA MSE column is the yardstick every VAE score "
                     "should beat. The last row takes every anomaly together.</p>\n<table class=\"detection\">\n"
                     "<tr><th>kind</th><th>in truth</th><th>in catalogue</th>",
                     100 * cat.top_fraction);
    const char* names[] = {"MSE", "recon. log-prob", "NOF", "PCA MSE", "combined"};
    static_assert(std::size(names) == merge::kNumScores + 1);
    for (const char* s : names) h += fmt::format("<th>recall {}</th>", s);
    for (const char* s : names) h += fmt::format("<th>AUC {}</th>", s);
    h += "</tr>\n";
    for (const merge::DetectionRow& d : detection) {
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td>", html_escape(d.kind), d.n_truth, d.n_catalogue);
      for (int s = 0; s <= merge::kNumScores; ++s) h += fmt::format("<td>{}</td>", fmt_num(d.recall[s], "{:.2f}"));
      for (int s = 0; s <= merge::kNumScores; ++s) h += fmt::format("<td>{}</td>", fmt_num(d.auc[s], "{:.3f}"));
      h += "</tr>\n";
    }
    h += "</table>\n";
  }
  return h;
}

}  // namespace specvae::report
