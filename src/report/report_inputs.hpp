// The report's inputs besides the catalogue, and the HTML tables at the top of the page
// (src/report: run_report.cpp gathers, these read and format). Internal to the report.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "specvae/io/dataset.hpp"
#include "specvae/merge/catalogue.hpp"
#include "specvae/merge/quality.hpp"

namespace specvae::report {

// metrics.jsonl from `specvae train`: one object per epoch (the keys the page plots).
// InputError naming the file and line.
nlohmann::json read_metrics(const std::filesystem::path& path);

// learn_scores.csv from `specvae learn`: TARGETIDs in its (display) order and the human labels.
struct LearnOrder {
  std::vector<std::int64_t> targetid;
  std::vector<int> label;
};
LearnOrder read_learn_scores(const std::filesystem::path& path);

// learn's columns in catalogue.h5 (`specvae learn` adds them), read when they are there: the
// page then shows learn's scores and order without being handed learn_scores.csv.
struct LearnColumns {
  bool present = false;
  std::string score;                  // the score learn re-ranked (attribute learn_score)
  std::vector<std::int64_t> order;    // every row: place in learn's list (1 first)
  std::vector<std::int64_t> label;    // every row: the user's label (-1: none)
};
// `catalogue_h5`: the merged catalogue; `rows` its row count. The re-ranked score S' is read
// for the rows in `which` only (in that order).
LearnColumns read_learn_columns(const std::filesystem::path& catalogue_h5, std::int64_t rows);
std::vector<double> read_learn_trained_score(const std::filesystem::path& catalogue_h5, std::int64_t rows,
                                             const std::vector<std::int64_t>& which);

// Rows of the dataset (sorted, unique), read in contiguous runs; one DatasetRows per row.
std::map<std::int64_t, DatasetRows> read_rows(const std::filesystem::path& dataset, const std::vector<std::int64_t>& rows);

// The tables at the top of the page: provenance, per-class weighted MSE, detection quality.
std::string tables_html(const merge::Catalogue& cat, const std::filesystem::path& cat_path,
                        const std::filesystem::path& dataset, const std::filesystem::path& checkpoint,
                        const std::vector<merge::ClassSummary>& classes,
                        const std::vector<merge::ClassSummary>& classes_normal,
                        const std::vector<merge::DetectionRow>& detection);

}  // namespace specvae::report
