// LOF equals scikit-learn's negative_outlier_factor_ on the fixtures in tests/fixtures (made
// by make_lof_fixtures.py with Debian's python3-sklearn), on a hand-worked case, with more
// than k duplicates, and for every kNN method.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "specvae/core/error.hpp"
#include "specvae/score/knn.hpp"
#include "specvae/score/lof.hpp"
#include "specvae/gpu/resources.hpp"

using namespace specvae::score;

namespace {

struct Fixture {
  int k = 0, d = 0;
  std::int64_t n = 0;
  std::vector<float> x;
  std::vector<double> nof;
};

Fixture load_fixture(const std::string& name) {
  const std::string path = std::string(SPECVAE_SOURCE_DIR) + "/tests/fixtures/lof_" + name + ".csv";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  Fixture f;
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(std::sscanf(line.c_str(), "# k=%d d=%d", &f.k, &f.d), 2) << line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    for (int j = 0; j < f.d; ++j) {
      std::getline(ss, cell, ',');
      f.x.push_back(std::stof(cell));
    }
    std::getline(ss, cell, ',');
    f.nof.push_back(std::stod(cell));
    ++f.n;
  }
  return f;
}

// |ΔNOF| ≤ 1e-4, also for the ~1e10 values that more than k duplicates cause (both sides
// divide the same sums in double, so even those agree to the last digits).
void expect_nof_near(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-4) << what << " row " << i;
}

const KnnMethod kMethods[] = {KnnMethod::KdTree, KnnMethod::BruteForce, KnnMethod::Faiss};

}  // namespace

TEST(LofExact, HandWorkedCase) {
  // 1-d points 0, 1, 2, 10 with k = 2. Neighbours: 0→{1,2}, 1→{0,2}, 2→{1,0}, 10→{2,1};
  // k-distances 2, 1, 2, 9; lrd = 2/3, 1/2, 2/3, 2/17; LOF = 7/8, 4/3, 7/8, 119/24.
  const std::vector<float> x = {0, 1, 2, 10};
  for (KnnMethod m : kMethods) {
    const LofResult r = lof(x, 4, 1, 2, m, 1);
    EXPECT_EQ(r.k, 2);
    EXPECT_NEAR(r.k_distance[0], 2.0, 1e-12);
    EXPECT_NEAR(r.k_distance[1], 1.0, 1e-12);
    EXPECT_NEAR(r.k_distance[3], 9.0, 1e-12);
    EXPECT_NEAR(r.lrd[3], 2.0 / 17.0, 1e-9);
    EXPECT_NEAR(r.nof[0], -7.0 / 8.0, 1e-9) << knn_method_name(m);
    EXPECT_NEAR(r.nof[1], -4.0 / 3.0, 1e-9);
    EXPECT_NEAR(r.nof[2], -7.0 / 8.0, 1e-9);
    EXPECT_NEAR(r.nof[3], -119.0 / 24.0, 1e-9);
  }
  expect_nof_near(lof(x, 4, 1, 2, KnnMethod::KdTree).nof, load_fixture("hand").nof, "hand fixture");
}

class LofFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(LofFixture, EqualsScikitLearn) {
  const Fixture f = load_fixture(GetParam());
  ASSERT_GT(f.n, 0);
  for (KnnMethod m : kMethods) {
    const LofResult r = lof(f.x, f.n, f.d, f.k, m, 2);
    expect_nof_near(r.nof, f.nof, GetParam() + "/" + knn_method_name(m));
  }
}

INSTANTIATE_TEST_SUITE_P(Sklearn, LofFixture, ::testing::Values("clustered", "duplicates", "offset2d", "hand"));

TEST(LofExact, AllPointsIdenticalStayFinite) {
  // 40 identical points (> k duplicates everywhere): every reach distance is 0, lrd = 1e10
  // for all, so LOF = 1 exactly — no NaN, no crash.
  const std::vector<float> x(40 * 3, 0.25f);
  for (KnnMethod m : kMethods) {
    const LofResult r = lof(x, 40, 3, 20, m);
    for (double v : r.nof) EXPECT_DOUBLE_EQ(v, -1.0) << knn_method_name(m);
  }
}

TEST(LofExact, SelfExclusionFollowsScikitLearnWithDuplicates) {
  // Row 30 duplicates rows 0..29 (31 copies, k = 3): its own index is not among its k+1 = 4
  // nearest (ties go to smaller indices), so the first column is dropped instead.
  std::vector<float> x(32 * 2, 1.0f);
  x[31 * 2] = 5.0f;  // one distinct point
  const KnnResult r = knn_excluding_self(x, 32, 2, 30, 1, 3, KnnMethod::KdTree);
  ASSERT_EQ(r.index.size(), 3u);
  EXPECT_EQ(r.index[0], 1);
  EXPECT_EQ(r.index[1], 2);
  EXPECT_EQ(r.index[2], 3);
  // Row 1: itself is among its 4 nearest (0, 1, 2, 3) and is dropped.
  const KnnResult r1 = knn_excluding_self(x, 32, 2, 1, 1, 3, KnnMethod::BruteForce);
  EXPECT_EQ(r1.index, (std::vector<std::int64_t>{0, 2, 3}));
}

TEST(LofExact, KdTreeEqualsBruteForceOnRandomData) {
  std::mt19937 gen(7);
  std::normal_distribution<float> g(0, 1);
  const std::int64_t n = 3000;
  const int d = 10, k = 20;
  std::vector<float> x(n * d);
  for (auto& v : x) v = g(gen);
  const KnnResult a = knn_excluding_self(x, n, d, 100, 500, k, KnnMethod::KdTree, 2);
  const KnnResult b = knn_excluding_self(x, n, d, 100, 500, k, KnnMethod::BruteForce, 2);
  EXPECT_EQ(a.index, b.index);
  for (std::size_t i = 0; i < a.distance.size(); ++i) EXPECT_DOUBLE_EQ(a.distance[i], b.distance[i]);
  // Distances are sorted and exact in double.
  for (int j = 1; j < k; ++j) EXPECT_LE(a.distance[j - 1], a.distance[j]);
}

// A cluster far tighter than its distance from the mean (300 near-identical points at 8 on
// every axis, spread 1e-3, beside 1000 points of N(0, 1)): the float ranking of the brute
// force, FAISS and the GPU search cannot order neighbours inside it. Those rows are searched
// again with the k-d tree, so every method gives the same neighbours and NOF (they were off
// by 0.25).
static void expect_exact_in_a_tight_cluster(KnnMethod m) {
  std::mt19937 gen(11);
  std::normal_distribution<float> g(0, 1);
  const int d = 10, k = 20;
  std::vector<float> x;
  for (int i = 0; i < 1000 * d; ++i) x.push_back(g(gen));
  for (int i = 0; i < 300 * d; ++i) x.push_back(8.0f + 1e-3f * g(gen));
  const std::int64_t n = static_cast<std::int64_t>(x.size()) / d;
  const KnnResult ref = knn_excluding_self(x, n, d, 0, n, k, KnnMethod::KdTree, 2);
  const LofResult lof_ref = lof(x, n, d, k, KnnMethod::KdTree, 2);
  const KnnResult got = knn_excluding_self(x, n, d, 0, n, k, m, 2);
  EXPECT_EQ(got.index, ref.index) << knn_method_name(m);
  const LofResult l = lof(x, n, d, k, m, 2);
  for (std::int64_t i = 0; i < n; ++i) ASSERT_NEAR(l.nof[i], lof_ref.nof[i], 1e-9) << knn_method_name(m) << " row " << i;
}

TEST(LofExact, EveryMethodIsExactInsideATightClusterFarFromTheMean) {
  expect_exact_in_a_tight_cluster(KnnMethod::BruteForce);
  expect_exact_in_a_tight_cluster(KnnMethod::Faiss);
}

TEST(LofExact, CudaIsExactInsideATightClusterFarFromTheMean) {
  if (specvae::gpu_device_count() == 0) GTEST_SKIP() << "no GPU: " << specvae::gpu_unavailable_reason();
  expect_exact_in_a_tight_cluster(KnnMethod::Cuda);
}

TEST(LofExact, KSmallerThanRequestedForTinySets) {
  const std::vector<float> x = {0, 1, 3};
  const LofResult r = lof(x, 3, 1, 20, KnnMethod::KdTree);
  EXPECT_EQ(r.k, 2);  // scikit-learn: max(1, min(20, n - 1))
  EXPECT_THROW(lof(std::vector<float>{1.0f}, 1, 1, 20, KnnMethod::KdTree), specvae::InputError);
}

TEST(LofExact, KnnMethodNames) {
  EXPECT_EQ(parse_knn_method("auto", -1), KnnMethod::KdTree);
  EXPECT_EQ(parse_knn_method("kdtree"), KnnMethod::KdTree);
  EXPECT_EQ(parse_knn_method("bruteforce"), KnnMethod::BruteForce);
  EXPECT_EQ(parse_knn_method("faiss"), KnnMethod::Faiss);
  EXPECT_THROW(parse_knn_method("ball_tree"), specvae::ConfigError);
  if (SPECVAE_HAVE_CUDA) {
    EXPECT_EQ(parse_knn_method("cuda"), KnnMethod::Cuda);
    EXPECT_EQ(parse_knn_method("auto", 0), KnnMethod::Cuda);
    EXPECT_EQ(parse_knn_method("auto", 0, 127), KnnMethod::Cuda);
    EXPECT_EQ(parse_knn_method("auto", 0, 128), KnnMethod::KdTree);  // more than the GPU lists hold
  } else {
    EXPECT_THROW(parse_knn_method("cuda"), specvae::ConfigError);
    EXPECT_EQ(parse_knn_method("auto", 0), KnnMethod::KdTree);
  }
}

// score's choice, in one place: a named method is taken as given; auto without a GPU for this
// rank (device −1) is the k-d tree, in every build.
TEST(LofExact, ScoreChoosesTheKnnMethodInOnePlace) {
  EXPECT_EQ(choose_knn_method("auto", -1, 20, 1000, 1000, 10, 0), KnnMethod::KdTree);
  EXPECT_EQ(choose_knn_method("faiss", -1, 20, 1000, 1000, 10, 0), KnnMethod::Faiss);
  EXPECT_EQ(choose_knn_method("bruteforce", 0, 20, 1000, 1000, 10, 0), KnnMethod::BruteForce);
  EXPECT_THROW(choose_knn_method("ball_tree", -1, 20, 1000, 1000, 10, 0), specvae::ConfigError);
  if (!SPECVAE_HAVE_CUDA) {
    EXPECT_THROW(choose_knn_method("cuda", 0, 20, 1000, 1000, 10, 0), specvae::ConfigError);
  }
}
