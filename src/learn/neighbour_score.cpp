// ScoreConverter, NeighbourScore's anom_func and the display order (REFERENCE.md §1.3–1.4).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "specvae/core/error.hpp"
#include "specvae/learn/learn.hpp"
#include "specvae/neighbours/kdtree.hpp"

namespace specvae::learn {

std::vector<double> convert_score(std::span<const double> score, bool lower_is_weirder, double new_min, double new_max) {
  // The range of the finite scores; ±inf map to the ends (one infinite row must not squash
  // every other row onto new_min), NaN stays NaN.
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const double v : score)
    if (std::isfinite(v)) {
      const double s = lower_is_weirder ? -v : v;
      lo = std::min(lo, s);
      hi = std::max(hi, s);
    }
  std::vector<double> out(score.size());
  for (std::size_t i = 0; i < score.size(); ++i) {
    const double s = lower_is_weirder ? -score[i] : score[i];
    if (std::isnan(s)) out[i] = s;
    else if (std::isinf(s)) out[i] = s > 0 ? new_max : new_min;
    else out[i] = hi > lo ? (new_max - new_min) * (s - lo) / (hi - lo) + new_min : new_min;
  }
  return out;
}

double trained_score(double S, double U_clipped, double d0, const NeighbourParams& p) {
  const double f_u = p.min_score + 0.85 * U_clipped / p.max_score;
  return S * std::tanh(std::exp(p.alpha * d0) - 1.0 + std::atanh(f_u));
}

NeighbourResult neighbour_score(std::span<const float> features, int dim, std::span<const double> S,
                                std::span<const int> labels, const NeighbourParams& p) {
  const std::size_t n = labels.size();
  SPECVAE_CHECK(dim > 0 && features.size() == n * static_cast<std::size_t>(dim) && S.size() == n,
                "neighbour_score: {} labels, {} scores and {} features of dimension {} do not match", n, S.size(),
                features.size(), dim);
  std::vector<float> labelled_points;
  std::vector<std::int64_t> labelled_rows;
  for (std::size_t i = 0; i < n; ++i)
    if (labels[i] != kUnlabelled) {
      labelled_rows.push_back(static_cast<std::int64_t>(i));
      labelled_points.insert(labelled_points.end(), features.begin() + static_cast<std::ptrdiff_t>(i * dim),
                             features.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim));
    }
  if (labelled_rows.empty()) throw InputError("learn: no object is labelled (every label is -1)");

  NeighbourResult r;
  r.predicted_user_score = forest_predict(features, dim, labels, p);
  for (double& u : r.predicted_user_score) u = std::clamp(u, p.min_score, p.max_score);

  // Distance to the nearest labelled object (a labelled object finds itself at 0).
  const neighbours::KdTree tree(labelled_points, static_cast<std::int64_t>(labelled_rows.size()), dim);
  r.distance.resize(n);
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t id = 0;
    float d2 = 0;
    tree.query(features.data() + i * static_cast<std::size_t>(dim), 1, &id, &d2);
    r.distance[i] = labels[i] != kUnlabelled ? 0.0 : std::sqrt(static_cast<double>(d2));
    sum += r.distance[i];
  }
  const double mean = sum / static_cast<double>(n);
  r.trained_score.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double d0 = mean > 0 ? r.distance[i] / mean : 0.0;
    r.trained_score[i] = trained_score(S[i], r.predicted_user_score[i], d0, p);
  }
  return r;
}

std::vector<std::int64_t> display_order(std::span<const int> labels, std::span<const double> trained) {
  std::vector<std::int64_t> order(labels.size());
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    const int la = labels[static_cast<std::size_t>(a)], lb = labels[static_cast<std::size_t>(b)];
    if (la != lb) return la < lb;  // −1 (unlabelled) first
    const double ta = trained[static_cast<std::size_t>(a)], tb = trained[static_cast<std::size_t>(b)];
    if (std::isnan(ta) || std::isnan(tb)) return !std::isnan(ta) && std::isnan(tb);
    return ta > tb;
  });
  return order;
}

}  // namespace specvae::learn
