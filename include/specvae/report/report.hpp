// `specvae report`: one self-contained HTML file (opens offline) with what a user needs to
// judge a run and inspect its outliers (DESIGN.md §report): loss curves; MSE and LOF
// histograms by class with the top-fraction thresholds; the per-class and detection tables;
// reconstructions of typical spectra and of the top outliers by each score, with rest-frame
// line markers, S/N, z, class and a Legacy Survey viewer link; a corner plot of the latent
// means coloured by class; latent traversals (decoded along each dimension from the
// centroid); and a labelling view (keys 0–5) that exports the labels CSV `specvae learn`
// reads. The numbers are gathered here and embedded as JSON; the page draws them with its own
// script (src/report/report_template.html). Serial (one process).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "specvae/core/config.hpp"
#include "specvae/dist/stage_context.hpp"
#include "specvae/merge/catalogue.hpp"

namespace specvae::report {

struct ReportOptions {
  std::filesystem::path catalogue;     // catalogue.h5 from `specvae merge`, or its folder
  std::filesystem::path dataset;       // empty: the catalogue's dataset_path
  std::filesystem::path checkpoint;    // empty: the catalogue's checkpoint_path
  std::filesystem::path metrics;       // empty: metrics.jsonl beside the checkpoint (optional)
  std::filesystem::path truth;         // optional truth.csv of a simulated survey
  std::filesystem::path learn_scores;  // optional learn_scores.csv: the labelling view follows its order
  std::filesystem::path labels;        // optional labels CSV (targetid,label): labels to start from
  std::filesystem::path out;           // the HTML file (an existing folder: report.html in it)
};

struct ReportResult {
  std::filesystem::path html;
  std::int64_t rows = 0;     // catalogue rows
  std::int64_t spectra = 0;  // spectra embedded (typical, outliers, labelling view)
  std::uintmax_t bytes = 0;
  std::vector<std::string> notes;  // sections left out and why
  std::string summary;             // what was written, as printed
};

// report.* from the config. InputError naming the file for a missing or foreign input (a
// dataset or checkpoint whose hash is not the catalogue's).
// One process (ctx needs no communicator).
ReportResult run_report(const StageContext& ctx, const ReportOptions& options);

// ---- the pieces, for tests ----------------------------------------------------------------

// A histogram of `values` with one count series per class (class_of[i] indexes class_names;
// series only for classes with a counted value, in class_names order), over [min, max] of
// the finite values (of the positive ones with log_x: edges log-spaced). Values outside that
// set (non-finite; ≤ 0 with log_x) are counted in `left_out`.
struct ClassHistogram {
  std::vector<double> edges;  // bins + 1
  std::vector<std::string> classes;
  std::vector<std::vector<std::int64_t>> counts;  // [class][bin]
  bool log_x = false;
  std::int64_t left_out = 0;
};
ClassHistogram class_histogram(std::span<const double> values, std::span<const std::uint8_t> class_of,
                               std::span<const std::string> class_names, int bins, bool log_x);

// Rows ranked 1…n by `rank` (1 = most anomalous), in rank order; fewer when the catalogue is smaller.
std::vector<std::int64_t> top_rows(std::span<const std::int64_t> rank, std::int64_t n);

// Up to n rows of class `cls` (class_of[i] == cls) nearest to the median MSE among the
// eligible rows of that class (eligible[i] != 0), the median row first. Empty when there are
// none.
std::vector<std::int64_t> typical_rows(std::span<const double> mse, std::span<const std::uint8_t> class_of,
                                       std::uint8_t cls, std::span<const std::uint8_t> eligible, std::int64_t n);

// &, <, >, " and ' as entities.
std::string html_escape(std::string_view text);
// JSON text made safe inside <script>: every '<' (only possible inside its strings) becomes
// \u003c, so no "</script>" or "<!--" can end or confuse the element.
std::string script_safe(std::string json);
// The template with its three placeholders replaced (title: plain text, escaped here; tables:
// HTML; json: JSON text, made script-safe here). ConfigError when a placeholder is missing.
std::string fill_template(std::string_view tmpl, std::string_view title, std::string_view tables_html,
                          std::string_view json);
// The page template compiled into the binary.
std::string_view page_template();

// Rest-frame (vacuum) wavelengths of the lines marked on spectra.
struct Line {
  const char* name;
  double wave;      // vacuum, Å
  int priority;     // 1 = labelled first; a label never hides one of a higher priority
};
std::span<const Line> marked_lines();

}  // namespace specvae::report
