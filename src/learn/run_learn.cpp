// `specvae learn` as a library function: read the catalogue and the user's labels, re-rank,
// write learn_scores.csv (atomically) in display order.
#include <cerrno>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "specvae/core/csv.hpp"
#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/core/staged_file.hpp"
#include "specvae/io/hdf5.hpp"
#include "specvae/learn/learn.hpp"
#include "specvae/merge/add_columns.hpp"
#include "specvae/io/h5_columns.hpp"

#include <map>
#include <set>
#include <tuple>

namespace specvae::learn {
namespace fs = std::filesystem;

fs::path learn_csv_path(const fs::path& out_dir) { return out_dir / "learn_scores.csv"; }

namespace {


template <typename T>
bool parse_int(const std::string& s, T& v) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::vector<Label> read_labels(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open the labels file", path.string()));
  std::string line;
  if (!std::getline(in, line)) throw InputError(fmt::format("{}: empty labels file (expected a header 'targetid,label')", path.string()));
  csv::strip_bom(line);
  const auto header = csv::split(line);
  const std::size_t none = header.size();
  std::size_t c_id = none, c_label = none, c_survey = none, c_program = none;
  for (std::size_t c = 0; c < header.size(); ++c) {
    std::string h = header[c];
    for (char& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (h == "targetid") c_id = c;
    if (h == "label" || h == "human_label") c_label = c;
    if (h == "survey") c_survey = c;
    if (h == "program") c_program = c;
  }
  if (c_id == none || c_label == none)
    throw InputError(fmt::format("{}: the header needs a 'targetid' and a 'label' column (header: {})", path.string(), line));
  std::vector<Label> labels;
  std::map<std::tuple<std::int64_t, std::string, std::string>, std::int64_t> seen;  // key → line
  for (std::int64_t lineno = 2; std::getline(in, line); ++lineno) {
    if (line.empty() || line == "\r") continue;
    const auto cells = csv::split(line);
    if (cells.size() != header.size())
      throw InputError(fmt::format("{}: line {} has {} fields, the header {}", path.string(), lineno, cells.size(), header.size()));
    Label l;
    l.line = lineno;
    if (!parse_int(cells[c_id], l.targetid))
      throw InputError(fmt::format("{}: line {}: targetid '{}' is not an integer", path.string(), lineno, cells[c_id]));
    if (!parse_int(cells[c_label], l.label) || l.label < kUnlabelled || l.label > 5)
      throw InputError(fmt::format("{}: line {}: label '{}' is not an integer from -1 (unlabelled) to 5", path.string(),
                                   lineno, cells[c_label]));
    if (c_survey != none) l.survey = cells[c_survey];
    if (c_program != none) l.program = cells[c_program];
    const auto [it, fresh] = seen.emplace(std::tuple{l.targetid, l.survey, l.program}, lineno);
    if (!fresh)
      throw InputError(fmt::format("{}: line {}: targetid {}{} is labelled twice (line {} first)", path.string(), lineno,
                                   l.targetid, l.survey.empty() && l.program.empty() ? "" : fmt::format(" ({} {})", l.survey, l.program),
                                   it->second));
    labels.push_back(std::move(l));
  }
  return labels;
}

LearnResult run_learn(const StageContext& ctx, const LearnOptions& o) {
  const Config& config = ctx.config();
  const fs::path cat_path = fs::is_directory(o.catalogue) ? o.catalogue / "catalogue.h5" : o.catalogue;
  const std::string score_name = config.get_string("learn.score");
  NeighbourParams p;
  p.alpha = config.get_double("learn.alpha");
  p.min_score = config.get_double("learn.min_score");
  p.max_score = config.get_double("learn.max_score");
  p.n_trees = static_cast<int>(config.get_int("learn.n_trees"));
  p.seed = static_cast<std::uint64_t>(config.get_int("learn.seed"));
  if (p.min_score > p.max_score)
    throw ConfigError(fmt::format("learn.min_score ({}) is above learn.max_score ({})", p.min_score, p.max_score));
  // S' takes arctanh(min_score + 0.85·U/max_score) with U up to max_score: it needs
  // min_score + 0.85 < 1, else the objects the forest rates highest get NaN.
  if (p.min_score + 0.85 >= 1.0)
    throw ConfigError(fmt::format("learn.min_score = {} must be below 0.15: S' takes arctanh(min_score + 0.85·U/max_score), "
                                  "which is infinite at 1",
                                  p.min_score));

  // The catalogue: TARGETID, latent means (the features) and the chosen score.
  std::int64_t n = 0;
  int dim = 0;
  std::vector<std::int64_t> targetid;
  std::vector<float> mu;
  std::vector<double> raw;
  h5col::StringCodes survey, program;  // one byte a row
  {
    if (!fs::exists(cat_path)) throw InputError(fmt::format("{}: no such catalogue (run `specvae merge` first)", cat_path.string()));
    h5::Handle f = h5::open_file(MPI_COMM_NULL, cat_path);
    if (!h5::has_attr(f, "schema") || h5::read_attr_string(f, "schema") != "specvae catalogue")
      throw InputError(fmt::format("{}: not a specvae catalogue (no 'schema' = 'specvae catalogue' attribute)", cat_path.string()));
    n = h5::read_attr_int(f, "n_rows");
    dim = static_cast<int>(h5::read_attr_int(f, "latent_dim"));
    targetid = h5col::read<std::int64_t>(f, "targetid", n, 0, cat_path);
    mu = h5col::read<float>(f, "latent_mu", n, dim, cat_path);
    raw = h5col::read<double>(f, score_name, n, 0, cat_path);
    survey = h5col::read_string_codes(f, "survey", n, cat_path);
    program = h5col::read_string_codes(f, "program", n, cat_path);
  }
  if (n == 0) throw InputError(fmt::format("{}: the catalogue has no rows", cat_path.string()));
  // The features of the forest and of the neighbour search (`specvae score` never writes a
  // non-finite one; an edited or foreign catalogue might).
  for (std::size_t k = 0; k < mu.size(); ++k)
    if (!std::isfinite(mu[k]))
      throw InputError(fmt::format("{}: latent_mu row {} (TARGETID {}) holds {}", cat_path.string(),
                                   k / static_cast<std::size_t>(dim), targetid[k / static_cast<std::size_t>(dim)], mu[k]));

  // One pass over the catalogue against the (small) set of labels. A label with SURVEY and
  // PROGRAM means that row; one without means every row of its TARGETID. A label that matched
  // no row is not in the catalogue; a row two labels match is ambiguous.
  const std::vector<Label> given = read_labels(o.labels);
  std::unordered_map<std::int64_t, std::vector<std::size_t>> by_tid;  // label indices
  for (std::size_t k = 0; k < given.size(); ++k) by_tid[given[k].targetid].push_back(k);
  std::vector<std::uint8_t> matched(given.size(), 0);
  std::vector<int> labels(static_cast<std::size_t>(n), kUnlabelled);
  std::vector<std::int64_t> label_line(static_cast<std::size_t>(n), 0);
  LearnResult r;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto it = by_tid.find(targetid[i]);
    if (it == by_tid.end()) continue;
    for (const std::size_t k : it->second) {
      const Label& l = given[k];
      if (!l.survey.empty() && l.survey != survey.names[survey.codes[i]]) continue;
      if (!l.program.empty() && l.program != program.names[program.codes[i]]) continue;
      if (label_line[i] != 0)
        throw InputError(fmt::format("{}: lines {} and {} both label the catalogue row of TARGETID {} in {} {}: give its "
                                     "survey and program once",
                                     o.labels.string(), label_line[i], l.line, targetid[i], survey.names[survey.codes[i]],
                                     program.names[program.codes[i]]));
      label_line[i] = l.line;
      labels[i] = l.label;
      if (l.label != kUnlabelled) ++r.labelled;
      matched[k] = 1;
    }
  }
  for (std::size_t k = 0; k < given.size(); ++k)
    if (!matched[k])
      throw InputError(fmt::format("{}: line {}: targetid {}{} is not in the catalogue {}", o.labels.string(), given[k].line,
                                   given[k].targetid,
                                   given[k].survey.empty() && given[k].program.empty()
                                       ? ""
                                       : fmt::format(" ({} {})", given[k].survey, given[k].program),
                                   cat_path.string()));
  if (r.labelled == 0) throw InputError(fmt::format("{}: no object is labelled (every label is -1)", o.labels.string()));

  // Lower is weirder for the log-probability and for NOF (scikit-learn's sign).
  const bool lower_is_weirder = score_name == "recon_logprob" || score_name == "nof";
  const std::vector<double> S = convert_score(raw, lower_is_weirder, 0.0, 5.0);
  const NeighbourResult nr = neighbour_score(mu, dim, S, labels, p);
  const std::vector<std::int64_t> order = display_order(labels, nr.trained_score);

  fs::create_directories(o.out_dir);
  r.csv = learn_csv_path(o.out_dir);
  r.rows = n;
  StagedFile staged(r.csv);
  const fs::path& tmp = staged.temp();
  {
    std::ofstream os(tmp);
    if (!os) throw InputError(fmt::format("{}: cannot write", tmp.string()));
    os << "order,targetid,human_label,score,predicted_user_score,trained_score," << score_name << ",survey,program\n";
    for (std::size_t k = 0; k < order.size(); ++k) {
      const std::size_t i = static_cast<std::size_t>(order[k]);
      os << fmt::format("{},{},{},{:.9g},{:.9g},{:.9g},{:.9g},{},{}\n", k + 1, targetid[i], labels[i], S[i],
                        nr.predicted_user_score[i], nr.trained_score[i], raw[i], csv::field(survey.names[survey.codes[i]]),
                        csv::field(program.names[program.codes[i]]));
    }
    if (!os.flush()) throw_write_error(r.csv, errno != 0 ? errno : EIO);
  }
  staged.commit();
  // Into the catalogue pair merge wrote (a renamed copy of catalogue.h5 has no FITS twin).
  const bool into = o.into_catalogue && cat_path.filename() == "catalogue.h5";
  if (into) {
    // The same values as columns of the catalogue, by catalogue row.
    std::vector<std::int64_t> label64(labels.begin(), labels.end()), rank(static_cast<std::size_t>(n));
    for (std::size_t k = 0; k < order.size(); ++k) rank[static_cast<std::size_t>(order[k])] = static_cast<std::int64_t>(k + 1);
    std::vector<merge::ExtraColumn> cols(4);
    cols[0] = {"learn_label", "the user's label (0-5; -1: none)", {}, std::move(label64)};
    cols[1] = {"learn_predicted_user_score", "learn: the forest's predicted user score U", nr.predicted_user_score, {}};
    cols[2] = {"learn_trained_score", "learn: the re-ranked anomaly score S' (higher: look first)", nr.trained_score, {}};
    cols[3] = {"learn_order", "learn: place in the list (1: first; unlabelled first)", {}, std::move(rank)};
    merge::add_catalogue_columns(cat_path.parent_path().empty() ? fs::path(".") : cat_path.parent_path(), cols,
                                 {{"learn_score", "LEARNSC", score_name, "score learn re-ranked"},
                                  {"learn_labels", "LEARNLBL", o.labels.filename().string(), "labels file of learn"},
                                  {"learn_n_labelled", "LEARNNL", std::to_string(r.labelled), "objects labelled"}});
  }
  r.report = fmt::format(
      "learn: {} objects, {} labelled; score '{}' mapped to 0-5; random forest ({} trees) on the {}-d latent means; "
      "alpha {}\nre-ranked list (unlabelled first, by trained_score): {}{}\n",
      n, r.labelled, score_name, p.n_trees, dim, p.alpha, r.csv.string(),
      into ? fmt::format("\nlearn's columns (learn_*) added to {} and its FITS twin", cat_path.string()) : "");
  return r;
}

}  // namespace specvae::learn
