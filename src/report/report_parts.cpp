// The report's pieces: class histograms, top and typical rows, escaping and the template.
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "specvae/core/error.hpp"
#include "specvae/report/report.hpp"

namespace specvae::report {

namespace {
constexpr std::string_view kTitleMark = "<!--SPECVAE_TITLE-->";
constexpr std::string_view kTablesMark = "<!--SPECVAE_TABLES-->";
constexpr std::string_view kDataMark = "/*SPECVAE_DATA*/";

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}
}  // namespace

ClassHistogram class_histogram(std::span<const double> values, std::span<const std::uint8_t> class_of,
                               std::span<const std::string> class_names, int bins, bool log_x) {
  SPECVAE_CHECK(values.size() == class_of.size(), "{} values but {} class indices", values.size(), class_of.size());
  SPECVAE_CHECK(bins >= 1, "histogram bins = {}", bins);
  ClassHistogram h;
  h.log_x = log_x;
  const auto usable = [&](double v) { return std::isfinite(v) && (!log_x || v > 0); };
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  std::vector<std::uint8_t> used(class_names.size(), 0);
  for (std::size_t i = 0; i < values.size(); ++i) {
    SPECVAE_CHECK(class_of[i] < class_names.size(), "class index {} of {} names", class_of[i], class_names.size());
    if (!usable(values[i])) {
      ++h.left_out;
      continue;
    }
    lo = std::min(lo, values[i]);
    hi = std::max(hi, values[i]);
    used[class_of[i]] = 1;
  }
  // Output series: the classes with a usable value, in class_names order.
  std::vector<int> series(class_names.size(), -1);
  for (std::size_t c = 0; c < class_names.size(); ++c)
    if (used[c]) {
      series[c] = static_cast<int>(h.classes.size());
      h.classes.push_back(class_names[c]);
    }
  if (h.classes.empty()) return h;
  const double a = log_x ? std::log10(lo) : lo;
  double b = log_x ? std::log10(hi) : hi;
  if (!(b > a)) b = a + 1.0;  // all values equal: one unit-wide range
  h.edges.resize(static_cast<std::size_t>(bins) + 1);
  for (int j = 0; j <= bins; ++j) {
    const double t = a + (b - a) * j / bins;
    h.edges[j] = log_x ? std::pow(10.0, t) : t;
  }
  h.counts.assign(h.classes.size(), std::vector<std::int64_t>(static_cast<std::size_t>(bins), 0));
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!usable(values[i])) continue;
    const double t = log_x ? std::log10(values[i]) : values[i];
    const int j = std::clamp(static_cast<int>(std::floor((t - a) / (b - a) * bins)), 0, bins - 1);
    ++h.counts[series[class_of[i]]][j];
  }
  return h;
}

std::vector<std::int64_t> top_rows(std::span<const std::int64_t> rank, std::int64_t n) {
  n = std::min<std::int64_t>(n, static_cast<std::int64_t>(rank.size()));
  std::vector<std::int64_t> out(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)), -1);
  for (std::size_t i = 0; i < rank.size(); ++i)
    if (rank[i] >= 1 && rank[i] <= n) out[rank[i] - 1] = static_cast<std::int64_t>(i);
  std::erase(out, -1);  // only with repeated or missing ranks (not a merge catalogue)
  return out;
}

std::vector<std::int64_t> typical_rows(std::span<const double> mse, std::span<const std::uint8_t> class_of,
                                       std::uint8_t cls, std::span<const std::uint8_t> eligible, std::int64_t n) {
  std::vector<std::int64_t> rows;
  for (std::size_t i = 0; i < mse.size(); ++i)
    if (eligible[i] && class_of[i] == cls && std::isfinite(mse[i])) rows.push_back(static_cast<std::int64_t>(i));
  if (rows.empty() || n <= 0) return {};
  std::sort(rows.begin(), rows.end(), [&](std::int64_t a, std::int64_t b) { return mse[a] < mse[b] || (mse[a] == mse[b] && a < b); });
  // Outward from the median: m, m+1, m−1, m+2, …
  const auto size = static_cast<std::int64_t>(rows.size());
  const std::int64_t m = (size - 1) / 2;
  std::vector<std::int64_t> out{rows[m]};
  for (std::int64_t d = 1; static_cast<std::int64_t>(out.size()) < n && (m + d < size || m - d >= 0); ++d) {
    if (m + d < size && static_cast<std::int64_t>(out.size()) < n) out.push_back(rows[m + d]);
    if (m - d >= 0 && static_cast<std::int64_t>(out.size()) < n) out.push_back(rows[m - d]);
  }
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string script_safe(std::string json) {
  // '<' can only occur inside JSON strings, where \u003c means the same character.
  replace_all(json, "<", "\\u003c");
  return json;
}

std::string fill_template(std::string_view tmpl, std::string_view title, std::string_view tables_html,
                          std::string_view json) {
  std::string page(tmpl);
  for (const std::string_view mark : {kTitleMark, kTablesMark, kDataMark})
    if (page.find(mark) == std::string::npos)
      throw ConfigError(fmt::format("the report template has no {} placeholder", mark));
  // The data last, so that nothing inside it is taken for a placeholder.
  const std::size_t data_at = page.find(kDataMark);
  std::string head = page.substr(0, data_at), tail = page.substr(data_at + kDataMark.size());
  const std::string t = html_escape(title);
  replace_all(head, kTitleMark, t);
  replace_all(tail, kTitleMark, t);
  replace_all(head, kTablesMark, tables_html);
  replace_all(tail, kTablesMark, tables_html);
  return head + script_safe(std::string(json)) + tail;
}

std::span<const Line> marked_lines() {
  // Priority 1 is labelled first: the lines that are strongest in most galaxy and quasar spectra
  // (emission, then absorption), so that a weaker neighbour never takes the label's room.
  static constexpr Line kLines[] = {
      {"H\u03b1", 6564.61, 1},   {"[O III]", 5008.24, 2}, {"H\u03b2", 4862.68, 3},  {"[O II]", 3728.48, 4},
      {"Na D", 5894.60, 5},      {"Ca K", 3934.78, 6},    {"Ca H", 3969.59, 7},     {"Mg b", 5176.70, 8},
      {"[N II]", 6585.27, 9},    {"[S II]", 6718.29, 10}, {"[S II]", 6732.67, 11},  {"H\u03b3", 4341.68, 12},
      {"H\u03b4", 4102.89, 13},  {"G", 4305.61, 14},      {"[O III]", 4960.30, 15}, {"[Ne III]", 3869.86, 16},
      {"[O I]", 6302.05, 17},    {"H\u03b5", 3971.20, 18}, {"He I", 5877.25, 19},   {"[N II]", 6549.86, 20}};
  return kLines;
}

}  // namespace specvae::report
