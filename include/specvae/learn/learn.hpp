// `specvae learn`: Astronomaly's active learning on the catalogue (Lochner & Bassett 2021;
// REFERENCE.md §1.3–1.4). The chosen anomaly score is mapped onto 0–5 (ScoreConverter); a
// random forest on the latent means predicts the user's 0–5 label U for every object; objects
// near labelled ones take the prediction, far ones keep their score:
//   S' = S · tanh(exp(α·d0) − 1 + atanh(f_u)),  f_u = min_score + 0.85·clip(U)/max_score,
//   d0 = (distance to the nearest labelled object) / (its mean over all objects).
// Objects are then listed unlabelled first, by S' descending. Serial (one process).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "specvae/core/config.hpp"
#include "specvae/dist/stage_context.hpp"

namespace specvae::learn {

inline constexpr int kUnlabelled = -1;

// ScoreConverter: the score mapped linearly onto [new_min, new_max], larger = more anomalous
// (sign flipped first when lower_is_weirder). NaN scores stay NaN and are left out of the
// range; all-equal scores map to new_min.
std::vector<double> convert_score(std::span<const double> score, bool lower_is_weirder, double new_min = 0.0,
                                  double new_max = 5.0);

struct NeighbourParams {
  double min_score = 0.1;  // U is clipped to [min_score, max_score]
  double max_score = 5.0;
  double alpha = 1.0;      // trust in the predicted user score
  int n_trees = 200;
  std::uint64_t seed = 1;
};

// anom_func for one object: S' from S, the clipped U and d0.
double trained_score(double S, double U_clipped, double d0, const NeighbourParams& p);

// A random-forest regressor (OpenCV RTrees: bootstrap samples, every feature considered at
// each split, trees grown until leaves are pure or hold one sample) fitted on the labelled
// rows and evaluated on all rows. features: n × dim. The seed orders the labelled rows before
// fitting (OpenCV draws its bootstrap samples from a fixed internal seed).
std::vector<double> forest_predict(std::span<const float> features, int dim, std::span<const int> labels,
                                   const NeighbourParams& p);

struct NeighbourResult {
  std::vector<double> predicted_user_score;  // U, clipped to [min_score, max_score]
  std::vector<double> distance;              // to the nearest labelled object (0 for labelled ones)
  std::vector<double> trained_score;         // S'
};

// NeighbourScore over all objects. labels: kUnlabelled or 0–5; at least one labelled.
NeighbourResult neighbour_score(std::span<const float> features, int dim, std::span<const double> S,
                                std::span<const int> labels, const NeighbourParams& p);

// Display order (row indices): unlabelled first, then by label ascending; within a group by
// trained score descending, NaN last, ties by row.
std::vector<std::int64_t> display_order(std::span<const int> labels, std::span<const double> trained);

// One line of a labels CSV. A label names a TARGETID, and optionally the SURVEY and PROGRAM of
// the catalogue row it means (the same target observed in two programs is two rows); without
// them it applies to every row of its TARGETID.
struct Label {
  std::int64_t targetid = 0;
  std::string survey, program;  // empty: any
  int label = kUnlabelled;
  std::int64_t line = 0;        // in the file, for messages
};

// A labels CSV: a header line naming a `targetid` and a `label` column, optionally `survey` and
// `program` (others ignored), then one row per object; label an integer −1…5. InputError
// naming the file and line for anything else, and for a key given twice.
std::vector<Label> read_labels(const std::filesystem::path& path);

struct LearnOptions {
  std::filesystem::path catalogue;  // catalogue.h5 from `specvae merge` (or its folder)
  std::filesystem::path labels;     // CSV: targetid,label
  std::filesystem::path out_dir;    // learn_scores.csv
  // Also write learn's columns into the catalogue's HDF5 and FITS files (learn_label,
  // learn_predicted_user_score, learn_trained_score, learn_order).
  bool into_catalogue = true;
};

struct LearnResult {
  std::filesystem::path csv;
  std::int64_t rows = 0, labelled = 0;
  std::string report;  // what was done, as printed
};

// learn.* from the config. A label that matches no catalogue row, or a row two labels match, is
// an error.
// One process (ctx needs no communicator).
LearnResult run_learn(const StageContext& ctx, const LearnOptions& options);

std::filesystem::path learn_csv_path(const std::filesystem::path& out_dir);

}  // namespace specvae::learn
