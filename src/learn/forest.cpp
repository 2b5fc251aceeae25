// The random-forest regressor of NeighbourScore, on OpenCV's RTrees (libopencv-ml).
#include <algorithm>
#include <numeric>
#include <random>

#include <opencv2/core.hpp>
#include <opencv2/ml.hpp>

#include "specvae/core/error.hpp"
#include "specvae/learn/learn.hpp"

namespace specvae::learn {

std::vector<double> forest_predict(std::span<const float> features, int dim, std::span<const int> labels,
                                   const NeighbourParams& p) {
  const std::size_t n = labels.size();
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < n; ++i)
    if (labels[i] != kUnlabelled) rows.push_back(i);
  SPECVAE_CHECK(!rows.empty(), "forest_predict: no labelled rows");
  // Every label the same: any forest predicts that value (OpenCV refuses an all-zero response).
  bool constant = true;
  for (const std::size_t r : rows) constant = constant && labels[r] == labels[rows.front()];
  if (constant) return std::vector<double>(n, static_cast<double>(labels[rows.front()]));
  std::mt19937_64 gen(p.seed);
  std::shuffle(rows.begin(), rows.end(), gen);

  cv::Mat x(static_cast<int>(rows.size()), dim, CV_32F), y(static_cast<int>(rows.size()), 1, CV_32F);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::copy_n(features.data() + rows[r] * static_cast<std::size_t>(dim), dim, x.ptr<float>(static_cast<int>(r)));
    y.at<float>(static_cast<int>(r)) = static_cast<float>(labels[rows[r]]);
  }
  cv::Ptr<cv::ml::RTrees> forest = cv::ml::RTrees::create();
  forest->setMaxDepth(64);             // grown out: leaves pure or single samples
  forest->setMinSampleCount(1);        // OpenCV splits a node of more than this many samples: two or more,
                                       // scikit-learn's min_samples_split = 2 (Astronomaly's default)
  forest->setRegressionAccuracy(0);    // no early stop on the node's spread
  forest->setUseSurrogates(false);
  forest->setCVFolds(0);               // no pruning
  forest->setActiveVarCount(dim);      // every feature at every split (scikit-learn's regressor)
  forest->setCalculateVarImportance(false);
  forest->setTermCriteria(cv::TermCriteria(cv::TermCriteria::MAX_ITER, p.n_trees, 0));
  // Continuous features and a continuous response: regression.
  cv::Mat var_type(dim + 1, 1, CV_8U, cv::Scalar(cv::ml::VAR_ORDERED));
  cv::Ptr<cv::ml::TrainData> data =
      cv::ml::TrainData::create(x, cv::ml::ROW_SAMPLE, y, cv::noArray(), cv::noArray(), cv::noArray(), var_type);
  const bool trained = forest->train(data);
  SPECVAE_CHECK(trained, "learn: OpenCV's random forest did not train on {} labelled rows", rows.size());

  std::vector<double> out(n);
  const std::size_t chunk = 65536;
  cv::Mat pred;
  for (std::size_t b = 0; b < n; b += chunk) {
    const int m = static_cast<int>(std::min(chunk, n - b));
    const cv::Mat q(m, dim, CV_32F, const_cast<float*>(features.data() + b * static_cast<std::size_t>(dim)));
    forest->predict(q, pred);
    for (int i = 0; i < m; ++i) out[b + static_cast<std::size_t>(i)] = pred.at<float>(i);
  }
  return out;
}

}  // namespace specvae::learn
