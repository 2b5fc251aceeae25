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
#include "specvae/score/h5_columns.hpp"

#include <set>

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

std::unordered_map<std::int64_t, int> read_labels(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open the labels file", path.string()));
  std::string line;
  if (!std::getline(in, line)) throw InputError(fmt::format("{}: empty labels file (expected a header 'targetid,label')", path.string()));
  csv::strip_bom(line);
  const auto header = csv::split(line);
  std::size_t c_id = header.size(), c_label = header.size();
  for (std::size_t c = 0; c < header.size(); ++c) {
    std::string h = header[c];
    for (char& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (h == "targetid") c_id = c;
    if (h == "label" || h == "human_label") c_label = c;
  }
  if (c_id == header.size() || c_label == header.size())
    throw InputError(fmt::format("{}: the header needs a 'targetid' and a 'label' column (header: {})", path.string(), line));
  std::unordered_map<std::int64_t, int> labels;
  for (std::int64_t lineno = 2; std::getline(in, line); ++lineno) {
    if (line.empty() || line == "\r") continue;
    const auto cells = csv::split(line);
    if (cells.size() != header.size())
      throw InputError(fmt::format("{}: line {} has {} fields, the header {}", path.string(), lineno, cells.size(), header.size()));
    std::int64_t id = 0;
    int label = 0;
    if (!parse_int(cells[c_id], id))
      throw InputError(fmt::format("{}: line {}: targetid '{}' is not an integer", path.string(), lineno, cells[c_id]));
    if (!parse_int(cells[c_label], label) || label < kUnlabelled || label > 5)
      throw InputError(fmt::format("{}: line {}: label '{}' is not an integer from -1 (unlabelled) to 5", path.string(),
                                   lineno, cells[c_label]));
    if (!labels.emplace(id, label).second)
      throw InputError(fmt::format("{}: line {}: targetid {} is labelled twice", path.string(), lineno, id));
  }
  return labels;
}

LearnResult run_learn(const Config& config, const LearnOptions& o) {
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
  }
  if (n == 0) throw InputError(fmt::format("{}: the catalogue has no rows", cat_path.string()));
  // The features of the forest and of the neighbour search (`specvae score` never writes a
  // non-finite one; an edited or foreign catalogue might).
  for (std::size_t k = 0; k < mu.size(); ++k)
    if (!std::isfinite(mu[k]))
      throw InputError(fmt::format("{}: latent_mu row {} (TARGETID {}) holds {}", cat_path.string(),
                                   k / static_cast<std::size_t>(dim), targetid[k / static_cast<std::size_t>(dim)], mu[k]));

  // One pass over the catalogue against the (small) set of labels; a label applies to every row
  // of its TARGETID (merge keeps a target coadded in two files twice), and a label that
  // matched no row is not in the catalogue.
  const auto given = read_labels(o.labels);
  std::set<std::int64_t> matched;
  std::vector<int> labels(static_cast<std::size_t>(n), kUnlabelled);
  LearnResult r;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto it = given.find(targetid[i]);
    if (it == given.end()) continue;
    labels[i] = it->second;
    if (it->second != kUnlabelled) ++r.labelled;
    matched.insert(it->first);
  }
  for (const auto& [tid, label] : given)
    if (!matched.contains(tid))
      throw InputError(fmt::format("{}: targetid {} is not in the catalogue {}", o.labels.string(), tid, cat_path.string()));
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
    os << "order,targetid,human_label,score,predicted_user_score,trained_score," << score_name << "\n";
    for (std::size_t k = 0; k < order.size(); ++k) {
      const std::size_t i = static_cast<std::size_t>(order[k]);
      os << fmt::format("{},{},{},{:.9g},{:.9g},{:.9g},{:.9g}\n", k + 1, targetid[i], labels[i], S[i],
                        nr.predicted_user_score[i], nr.trained_score[i], raw[i]);
    }
    if (!os.flush()) throw_write_error(r.csv, errno != 0 ? errno : EIO);
  }
  staged.commit();
  r.report = fmt::format(
      "learn: {} objects, {} labelled; score '{}' mapped to 0-5; random forest ({} trees) on the {}-d latent means; "
      "alpha {}\nre-ranked list (unlabelled first, by trained_score): {}\n",
      n, r.labelled, score_name, p.n_trees, dim, p.alpha, r.csv.string());
  return r;
}

}  // namespace specvae::learn
