// The report's inputs besides the catalogue: the training metrics, learn's order and labels,
// and the few dataset rows the page shows.
#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "report_inputs.hpp"
#include "specvae/core/csv.hpp"
#include "specvae/core/error.hpp"
#include "specvae/io/hdf5.hpp"
#include "specvae/learn/learn.hpp"
#include "specvae/io/h5_columns.hpp"

namespace specvae::report {

namespace fs = std::filesystem;
using nlohmann::json;

// metrics.jsonl from `specvae train`: one object per epoch. InputError naming the file and line.
json read_metrics(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open the training metrics", path.string()));
  json out = json::array();
  std::string line;
  for (std::int64_t no = 1; std::getline(in, line); ++no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      throw InputError(fmt::format("{}:{}: not a JSON line ({})", path.string(), no, e.what()));
    }
    if (!j.is_object() || !j.contains("epoch"))
      throw InputError(fmt::format("{}:{}: a metrics line needs an object with an 'epoch'", path.string(), no));
    json keep;
    for (const char* key : {"epoch", "train_loss", "val_loss", "lr", "train_recon", "train_kl", "val_recon", "val_kl",
                            "val_mse", "val_mse_galaxy", "spectra_per_s"})
      if (j.contains(key)) keep[key] = j[key];
    out.push_back(std::move(keep));
  }
  return out;
}

// learn_scores.csv from `specvae learn`: TARGETIDs in its (display) order and the human labels.
LearnOrder read_learn_scores(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open the learn scores", path.string()));
  std::string line;
  if (!std::getline(in, line)) throw InputError(fmt::format("{}: empty file (expected learn_scores.csv from `specvae learn`)", path.string()));
  csv::strip_bom(line);
  const std::vector<std::string> header = csv::split(line);
  const auto col = [&](const char* name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end())
      throw InputError(fmt::format("{}: no '{}' column (header: {}); expected learn_scores.csv from `specvae learn`",
                                   path.string(), name, line));
    return static_cast<std::size_t>(it - header.begin());
  };
  const std::size_t c_tid = col("targetid"), c_label = col("human_label");
  LearnOrder o;
  for (std::int64_t no = 2; std::getline(in, line); ++no) {
    if (line.empty()) continue;
    const std::vector<std::string> cells = csv::split(line);
    if (cells.size() <= std::max(c_tid, c_label))
      throw InputError(fmt::format("{}:{}: {} fields, the header has {}", path.string(), no, cells.size(), header.size()));
    try {
      std::size_t used = 0;
      const std::int64_t tid = std::stoll(cells[c_tid], &used);
      if (used != cells[c_tid].size()) throw std::invalid_argument("trailing text");
      const int label = std::stoi(cells[c_label], &used);
      if (used != cells[c_label].size() || label < learn::kUnlabelled || label > 5) throw std::invalid_argument("label");
      o.targetid.push_back(tid);
      o.label.push_back(label);
    } catch (const std::exception&) {
      throw InputError(fmt::format("{}:{}: targetid '{}' / human_label '{}' are not an integer and a label -1..5",
                                   path.string(), no, cells[c_tid], cells[c_label]));
    }
  }
  return o;
}

// learn's columns in catalogue.h5, when `specvae learn` added them (all three or none).
LearnColumns read_learn_columns(const fs::path& catalogue_h5, std::int64_t rows) {
  LearnColumns c;
  h5::Handle f = h5::open_file(MPI_COMM_NULL, catalogue_h5);
  const bool order = H5Lexists(f, "learn_order", H5P_DEFAULT) > 0, label = H5Lexists(f, "learn_label", H5P_DEFAULT) > 0,
             trained = H5Lexists(f, "learn_trained_score", H5P_DEFAULT) > 0;
  if (!order && !label && !trained) return c;
  if (!order || !label || !trained)
    throw InputError(fmt::format("{}: has only some of learn's columns (learn_order {}, learn_label {}, "
                                 "learn_trained_score {}); run `specvae learn` again",
                                 catalogue_h5.string(), order ? "present" : "missing", label ? "present" : "missing",
                                 trained ? "present" : "missing"));
  c.present = true;
  c.order = h5col::read<std::int64_t>(f, "learn_order", rows, 0, catalogue_h5);
  c.label = h5col::read<std::int64_t>(f, "learn_label", rows, 0, catalogue_h5);
  c.score = h5::has_attr(f, "learn_score") ? h5::read_attr_string(f, "learn_score") : std::string();
  return c;
}

std::vector<double> read_learn_trained_score(const fs::path& catalogue_h5, std::int64_t rows,
                                             const std::vector<std::int64_t>& which) {
  h5::Handle f = h5::open_file(MPI_COMM_NULL, catalogue_h5);
  return h5col::read_rows<double>(f, "learn_trained_score", rows, 0, which, catalogue_h5);
}

// Rows of the dataset, read in contiguous runs (rows sorted and unique).
std::map<std::int64_t, DatasetRows> read_rows(const fs::path& dataset, const std::vector<std::int64_t>& rows) {
  std::map<std::int64_t, DatasetRows> out;
  for (std::size_t i = 0; i < rows.size();) {
    std::size_t j = i + 1;
    while (j < rows.size() && rows[j] == rows[j - 1] + 1) ++j;
    const DatasetRows run = read_dataset_rows(MPI_COMM_NULL, dataset, rows[i], static_cast<std::int64_t>(j - i));
    for (std::size_t k = i; k < j; ++k) {
      DatasetRows one;
      one.resize(1, run.n_bins);
      const std::size_t r = k - i, nb = static_cast<std::size_t>(run.n_bins);
      std::copy_n(run.flux.begin() + r * nb, nb, one.flux.begin());
      std::copy_n(run.ivar.begin() + r * nb, nb, one.ivar.begin());
      std::copy_n(run.mask.begin() + r * nb, nb, one.mask.begin());
      one.begin = rows[k];
      one.targetid[0] = run.targetid[r];
      out.emplace(rows[k], std::move(one));
    }
    i = j;
  }
  return out;
}

}  // namespace specvae::report
