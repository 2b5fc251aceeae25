// Active learning (REFERENCE.md §1.3–1.4): the score conversion and anom_func against worked
// values, the forest on separated clusters, the display order, the labels reader's errors, the
// stage on a written catalogue, and that more labels keep improving the ranking of what the
// user marks interesting.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "specvae/core/config.hpp"
#include "specvae/core/error.hpp"
#include "specvae/io/hdf5.hpp"
#include "specvae/io/h5_columns.hpp"
#include "specvae/learn/learn.hpp"
#include "specvae/merge/catalogue.hpp"
#include "specvae/merge/writers.hpp"

using namespace specvae;
using namespace specvae::learn;

namespace {
std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("specvae_learn_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

std::string expect_input_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError";
  return "";
}

void write_file(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

// n points in `dim` dimensions around `centre` (a blob of radius ≈ spread).
void add_blob(std::vector<float>& x, int n, int dim, float centre, float spread, std::mt19937_64& gen) {
  std::normal_distribution<float> g(0.0f, spread);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < dim; ++j) x.push_back((j == 0 ? centre : 0.0f) + g(gen));
}
}  // namespace

TEST(Learn, ConvertScoreMapsOntoZeroToFiveWeirdestHighest) {
  const std::vector<double> nof = {-1.0, -3.0, -2.0, std::nan("")};  // lower is weirder
  const auto s = convert_score(nof, true);
  EXPECT_DOUBLE_EQ(s[0], 0.0);
  EXPECT_DOUBLE_EQ(s[1], 5.0);
  EXPECT_DOUBLE_EQ(s[2], 2.5);
  EXPECT_TRUE(std::isnan(s[3]));
  const std::vector<double> mse = {1.0, 3.0, 2.0};  // higher is weirder
  EXPECT_EQ(convert_score(mse, false), (std::vector<double>{0.0, 5.0, 2.5}));
  EXPECT_EQ(convert_score(std::vector<double>{7.0, 7.0}, false), (std::vector<double>{0.0, 0.0}));
  // An infinite score takes the end it points to; the finite ones keep their spread (one
  // −inf NOF used to map every other row to 0).
  const auto inf = convert_score(std::vector<double>{-1.0, -1.2, -3.0, -INFINITY, INFINITY}, true);
  EXPECT_DOUBLE_EQ(inf[0], 0.0);
  EXPECT_DOUBLE_EQ(inf[1], 0.5);
  EXPECT_DOUBLE_EQ(inf[2], 5.0);
  EXPECT_DOUBLE_EQ(inf[3], 5.0);
  EXPECT_DOUBLE_EQ(inf[4], 0.0);
}

TEST(Learn, TrainedScoreIsAnomFunc) {
  NeighbourParams p;  // min 0.1, max 5, α 1
  // Worked value (Python math): 4·tanh(exp(0.5) − 1 + atanh(0.1 + 0.85·2.5/5)).
  EXPECT_NEAR(trained_score(4.0, 2.5, 0.5, p), 3.3725630046512207, 1e-12);
  // A labelled object (d0 = 0) takes S·f_u; a far one keeps S.
  EXPECT_NEAR(trained_score(4.0, 2.5, 0.0, p), 4.0 * (0.1 + 0.85 * 0.5), 1e-12);
  EXPECT_NEAR(trained_score(4.0, 0.1, 20.0, p), 4.0, 1e-9);
}

TEST(Learn, ForestPredictsTheLabelsOfSeparatedClusters) {
  std::mt19937_64 gen(3);
  std::vector<float> x;
  const int dim = 4;
  add_blob(x, 60, dim, -5.0f, 0.5f, gen);  // rows 0–59: the user gives 0
  add_blob(x, 60, dim, 5.0f, 0.5f, gen);   // rows 60–119: the user gives 5
  std::vector<int> labels(120, kUnlabelled);
  for (int i = 0; i < 10; ++i) {
    labels[std::size_t(i)] = 0;
    labels[std::size_t(60 + i)] = 5;
  }
  NeighbourParams p;
  p.n_trees = 50;
  const auto u = forest_predict(x, dim, labels, p);
  for (int i = 0; i < 60; ++i) EXPECT_LT(u[std::size_t(i)], 0.5) << i;
  for (int i = 60; i < 120; ++i) EXPECT_GT(u[std::size_t(i)], 4.5) << i;
  EXPECT_EQ(forest_predict(x, dim, labels, p), u) << "the same seed gives the same forest";
}

TEST(Learn, ForestSplitsOnTwoLabels) {
  // The first round of labelling: one boring object (0) and one interesting (5) far apart. A
  // node of two samples must split (scikit-learn's min_samples_split = 2): the prediction near
  // each follows its label (scikit-learn: 1.33 and 3.75), not their mean 2.5 everywhere.
  std::mt19937_64 gen(5);
  std::vector<float> x = {0.0f, 0.0f, 10.0f, 10.0f};
  std::uniform_real_distribution<float> u(0.0f, 10.0f);
  for (int i = 0; i < 200; ++i) x.push_back(u(gen));
  std::vector<int> labels(102, kUnlabelled);
  labels[0] = 0;
  labels[1] = 5;
  NeighbourParams p;
  p.n_trees = 500;
  const auto pred = forest_predict(x, 2, labels, p);
  EXPECT_LT(pred[0], 2.0);
  EXPECT_GT(pred[1], 3.0);
}

TEST(Learn, NeighbourScoreOnLabelledAndFarObjects) {
  // 1-d features: labelled at 0 (label 5) and at 10 (label 0); unlabelled at 1 and 30.
  const std::vector<float> x = {0.0f, 10.0f, 1.0f, 30.0f};
  const std::vector<int> labels = {5, 0, kUnlabelled, kUnlabelled};
  const std::vector<double> S = {2.0, 3.0, 4.0, 5.0};
  NeighbourParams p;
  p.n_trees = 20;
  const auto r = neighbour_score(x, 1, S, labels, p);
  EXPECT_EQ(r.distance, (std::vector<double>{0.0, 0.0, 1.0, 20.0}));
  const double mean_d = 21.0 / 4.0;
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_GE(r.predicted_user_score[i], p.min_score);
    EXPECT_LE(r.predicted_user_score[i], p.max_score);
    EXPECT_NEAR(r.trained_score[i], trained_score(S[i], r.predicted_user_score[i], r.distance[i] / mean_d, p), 1e-12);
  }
  // Labelled objects: S·f_u with their own (clipped) prediction; the far object keeps ≈ S.
  EXPECT_NEAR(r.trained_score[0], S[0] * (0.1 + 0.85 * r.predicted_user_score[0] / 5.0), 1e-12);
  EXPECT_NEAR(r.trained_score[3], S[3], 0.05);
  EXPECT_THROW(neighbour_score(x, 1, S, std::vector<int>(4, kUnlabelled), p), InputError);
}

TEST(Learn, DisplayOrderUnlabelledFirstThenByTrainedScore) {
  const std::vector<int> labels = {3, kUnlabelled, kUnlabelled, 0, kUnlabelled, 3};
  const std::vector<double> t = {1.0, 2.0, std::nan(""), 9.0, 4.0, 5.0};
  EXPECT_EQ(display_order(labels, t), (std::vector<std::int64_t>{4, 1, 2, 3, 5, 0}));
}

TEST(Learn, LabelsFileErrorsNameTheFileAndLine) {
  const auto d = temp_dir("labels");
  const auto f = d / "labels.csv";
  write_file(f, "targetid,label\n10,5\n11,-1\n 12 , 0\r\n");
  const auto ok = read_labels(f);
  ASSERT_EQ(ok.size(), 3u);
  EXPECT_EQ(ok[0].targetid, 10);
  EXPECT_EQ(ok[0].label, 5);
  EXPECT_EQ(ok[1].label, -1);
  EXPECT_EQ(ok[2].targetid, 12);
  EXPECT_EQ(ok[2].label, 0);
  EXPECT_EQ(ok[2].line, 4);
  EXPECT_TRUE(ok[0].survey.empty() && ok[0].program.empty());
  // The same target in two programs may be labelled per program; the same key twice may not.
  write_file(f, "targetid,survey,program,label\n5,sv3,dark,1\n5,sv3,bright,4\n");
  const auto two = read_labels(f);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].program, "bright");
  EXPECT_EQ(two[1].label, 4);
  write_file(f, "targetid,survey,program,label\n5,sv3,dark,1\n5,sv3,dark,4\n");
  EXPECT_NE(expect_input_error([&] { read_labels(f); }).find("line 3: targetid 5 (sv3 dark) is labelled twice (line 2 first)"),
            std::string::npos);
  write_file(f, "id,label\n1,2\n");
  EXPECT_NE(expect_input_error([&] { read_labels(f); }).find("'targetid'"), std::string::npos);
  write_file(f, "targetid,label\n1,2\n2,six\n");
  EXPECT_NE(expect_input_error([&] { read_labels(f); }).find("line 3"), std::string::npos);
  write_file(f, "targetid,label\n1,7\n");
  EXPECT_NE(expect_input_error([&] { read_labels(f); }).find("-1 (unlabelled) to 5"), std::string::npos);
  write_file(f, "targetid,label\n1,2\n1,3\n");
  EXPECT_NE(expect_input_error([&] { read_labels(f); }).find("labelled twice"), std::string::npos);
  write_file(f, "targetid,label\n1,2,3\n");
  EXPECT_NE(expect_input_error([&] { read_labels(f); }).find(f.string() + ": line 2"), std::string::npos);
  EXPECT_NE(expect_input_error([&] { read_labels(d / "missing.csv"); }).find("missing.csv"), std::string::npos);
  // A spreadsheet's byte-order mark before the header is not part of the first column's name.
  write_file(f, "\xEF\xBB\xBFtargetid,label\r\n7,4\r\n");
  EXPECT_EQ(read_labels(f).at(0).label, 4);
  std::filesystem::remove_all(d);
}

namespace {
// A catalogue of a latent space with three kinds of object: 400 ordinary ones in a blob (low
// MSE), 30 "interesting" ones and 30 "junk" ones (artefacts), both far from the blob and
// scored as equally anomalous, in two separate clusters.
merge::Catalogue synthetic_catalogue(std::vector<int>& kind) {
  std::mt19937_64 gen(11);
  const int dim = 10;
  std::vector<float> mu;
  add_blob(mu, 400, dim, 0.0f, 1.0f, gen);
  add_blob(mu, 30, dim, 8.0f, 0.7f, gen);
  add_blob(mu, 30, dim, -8.0f, 0.7f, gen);
  merge::Catalogue c;
  c.n = 460;
  c.latent = dim;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  kind.assign(460, 0);
  for (int i = 0; i < 460; ++i) {
    kind[std::size_t(i)] = i < 400 ? 0 : i < 430 ? 1 : 2;
    c.targetid.push_back(5000 + i);
    c.ra.push_back(10.0);
    c.dec.push_back(-1.0);
    c.z.push_back(0.1);
    c.spectype.push_back("GALAXY");
    c.survey.push_back("sv3");
    c.program.push_back("dark");
    c.healpix.push_back(26065);
    c.zwarn.push_back(0);
    c.deltachi2.push_back(100.0);
    c.coadd_fiberstatus.push_back(0);
    c.snr.push_back(10.0f);
    c.split.push_back(0);
    const double s = kind[std::size_t(i)] == 0 ? 1.0 + u(gen) : 20.0 + 10.0 * u(gen);
    c.score[0].push_back(s);               // mse: higher is weirder
    c.score[1].push_back(-s);              // recon_logprob
    c.score[2].push_back(-1.0 - s / 10);   // nof
    c.score[3].push_back(s);               // pca_mse
  }
  c.latent_mu = mu;
  c.latent_logvar.assign(mu.size(), -3.0f);
  merge::rank_catalogue(c, 0.01);
  return c;
}

// The pair merge writes: learn adds its columns to both.
void write_catalogue(const std::filesystem::path& d, const merge::Catalogue& c) {
  merge::write_catalogue_hdf5(d / "catalogue.h5", c, {}, {}, {});
  merge::write_catalogue_fits(d / "catalogue.fits", c);
}

std::vector<std::vector<std::string>> read_csv(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}
}  // namespace

TEST(Learn, MoreLabelsKeepImprovingTheRankingOfInterestingObjects) {
  // The user gives interesting objects 5 and junk 0, four more each round, always the first
  // unlabelled ones of the current list. Among the objects still unlabelled, the chance that
  // an interesting one is listed before a junk one (the ROC AUC of the list order) must not
  // fall from round to round, and must end far above where it started. "Not fall" is to the
  // metric's resolution, one (interesting, junk) pair: once the list is all but perfect a
  // random forest can swap one pair at the boundary (over 12 seeds, 6 with scikit-learn's
  // min_samples_split = 2 and 2 with 3 did so once, each time by exactly one pair).
  std::vector<int> kind;
  const merge::Catalogue c = synthetic_catalogue(kind);
  const auto d = temp_dir("rounds");
  write_catalogue(d, c);
  Config config = Config::defaults();
  config.set("learn.score=mse");
  // learn.n_trees: the default 200.

  std::vector<int> given(460, kUnlabelled);
  std::vector<double> aucs;
  for (int round = 0; round < 6; ++round) {
    std::string csv = "targetid,label\n";
    int n_given = 0;
    for (int i = 0; i < 460; ++i)
      if (given[std::size_t(i)] != kUnlabelled) {
        csv += std::to_string(5000 + i) + "," + std::to_string(given[std::size_t(i)]) + "\n";
        ++n_given;
      }
    if (n_given == 0) csv += "5000,0\n";  // the first round: one ordinary object labelled boring
    write_file(d / "labels.csv", csv);
    LearnOptions o;
    o.catalogue = d;
    o.labels = d / "labels.csv";
    o.out_dir = d / "out";
    const LearnResult r = run_learn(StageContext(config), o);
    ASSERT_EQ(r.rows, 460);
    const auto rows = read_csv(r.csv);
    ASSERT_EQ(rows.size(), 461u);
    EXPECT_EQ(rows[0][0], "order");
    std::vector<int> interesting_pos, junk_pos;  // list positions of the unlabelled ones
    int labelled_now = 0;
    for (std::size_t k = 1; k < rows.size(); ++k) {
      if (rows[k][2] != "-1") continue;
      const int i = std::stoi(rows[k][1]) - 5000;
      if (kind[std::size_t(i)] == 1) interesting_pos.push_back(int(k));
      if (kind[std::size_t(i)] == 2) junk_pos.push_back(int(k));
      if (labelled_now < 4) {  // the user looks at the top of the list
        given[std::size_t(i)] = kind[std::size_t(i)] == 1 ? 5 : 0;
        ++labelled_now;
      }
    }
    double pairs = 0, before = 0;
    for (const int a : interesting_pos)
      for (const int b : junk_pos) {
        pairs += 1;
        before += a < b ? 1 : 0;
      }
    aucs.push_back(before / pairs);
    if (round > 0) {
      EXPECT_GE(aucs.back() + 1.0 / pairs, aucs[aucs.size() - 2]) << "round " << round;
    }
  }
  EXPECT_LT(aucs.front(), 0.7) << "interesting and junk objects should start mixed";
  EXPECT_GT(aucs.back(), 0.95);
  std::filesystem::remove_all(d);
}

TEST(Learn, StageRefusesLabelsForObjectsNotInTheCatalogue) {
  std::vector<int> kind;
  const merge::Catalogue c = synthetic_catalogue(kind);
  const auto d = temp_dir("unknown");
  write_catalogue(d, c);
  write_file(d / "labels.csv", "targetid,label\n5001,3\n999,5\n");
  LearnOptions o;
  o.catalogue = d / "catalogue.h5";
  o.labels = d / "labels.csv";
  o.out_dir = d / "out";
  const std::string msg = expect_input_error([&] { run_learn(StageContext(Config::defaults()), o); });
  EXPECT_NE(msg.find("targetid 999 is not in the catalogue"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(learn_csv_path(o.out_dir)));
  o.catalogue = d / "nowhere.h5";
  EXPECT_NE(expect_input_error([&] { run_learn(StageContext(Config::defaults()), o); }).find("nowhere.h5"), std::string::npos);
  // learn.min_score at 0.15 or above would give the forest's favourites a NaN S'.
  Config bad = Config::defaults();
  bad.set("learn.min_score=0.2");
  o.catalogue = d;
  write_file(d / "labels.csv", "targetid,label\n5001,3\n");
  try {
    run_learn(StageContext(bad), o);
    ADD_FAILURE() << "learn.min_score = 0.2 was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("below 0.15"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(d);
}

TEST(Learn, StageRefusesANonFiniteLatentMean) {
  std::vector<int> kind;
  merge::Catalogue c = synthetic_catalogue(kind);
  c.latent_mu[static_cast<std::size_t>(12 * c.latent + 3)] = NAN;
  const auto d = temp_dir("nanmu");
  write_catalogue(d, c);
  write_file(d / "labels.csv", "targetid,label\n5001,3\n");
  LearnOptions o;
  o.catalogue = d;
  o.labels = d / "labels.csv";
  o.out_dir = d / "out";
  const std::string msg = expect_input_error([&] { run_learn(StageContext(Config::defaults()), o); });
  EXPECT_NE(msg.find("latent_mu row 12 (TARGETID 5012) holds nan"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(learn_csv_path(o.out_dir)));
  std::filesystem::remove_all(d);
}

TEST(Learn, ALabelAppliesToEveryRowOfItsTargetid) {
  // Merge keeps a target coadded in two files as two rows with one TARGETID: the user's label
  // is for the target, so both rows are labelled (the second used to come back unlabelled).
  std::vector<int> kind;
  merge::Catalogue c = synthetic_catalogue(kind);
  c.targetid[401] = c.targetid[400];
  const auto d = temp_dir("twins");
  write_catalogue(d, c);
  write_file(d / "labels.csv", "targetid,label\n" + std::to_string(c.targetid[400]) + ",0\n");
  LearnOptions o;
  o.catalogue = d;
  o.labels = d / "labels.csv";
  o.out_dir = d / "out";
  Config config = Config::defaults();
  config.set("learn.n_trees=20");
  const LearnResult r = run_learn(StageContext(config), o);
  EXPECT_EQ(r.labelled, 2);
  int rows_of_target = 0;
  for (const auto& row : read_csv(r.csv))
    if (row.size() > 2 && row[1] == std::to_string(c.targetid[400])) {
      ++rows_of_target;
      EXPECT_EQ(row[2], "0") << "a row of the labelled target is listed unlabelled";
    }
  EXPECT_EQ(rows_of_target, 2);
  // learn's columns went into the catalogue by row (row[0] is the place in the CSV's order).
  {
    h5::Handle f = h5::open_file(MPI_COMM_NULL, d / "catalogue.h5");
    const auto label = h5col::read<std::int64_t>(f, "learn_label", c.n, 0, d / "catalogue.h5");
    const auto order = h5col::read<std::int64_t>(f, "learn_order", c.n, 0, d / "catalogue.h5");
    EXPECT_EQ(label[400], 0);
    EXPECT_EQ(label[401], 0);
    EXPECT_EQ(label[0], kUnlabelled);
    const auto csv = read_csv(r.csv);
    for (std::size_t i = 0; i < 460; i += 37)
      EXPECT_EQ(csv.at(std::size_t(order[i])).at(1), std::to_string(c.targetid[i])) << "row " << i;
  }

  // The same target in two programs: a label with SURVEY and PROGRAM means that row only.
  c.program[401] = "bright";
  write_catalogue(d, c);
  write_file(d / "labels.csv", "targetid,survey,program,label\n" + std::to_string(c.targetid[400]) + ",sv3,bright,4\n");
  EXPECT_EQ(run_learn(StageContext(config), o).labelled, 1);
  {
    h5::Handle f = h5::open_file(MPI_COMM_NULL, d / "catalogue.h5");
    const auto label = h5col::read<std::int64_t>(f, "learn_label", c.n, 0, d / "catalogue.h5");
    EXPECT_EQ(label[400], kUnlabelled);
    EXPECT_EQ(label[401], 4);
  }
  // A key no row has, and two labels on one row, are refused naming the lines.
  write_file(d / "labels.csv", "targetid,survey,program,label\n" + std::to_string(c.targetid[400]) + ",sv3,backup,4\n");
  EXPECT_NE(expect_input_error([&] { run_learn(StageContext(config), o); }).find("line 2: targetid 5400 (sv3 backup) is not in the catalogue"),
            std::string::npos);
  write_file(d / "labels.csv", "targetid,survey,program,label\n5400,sv3,bright,4\n5400,,,2\n");
  EXPECT_NE(expect_input_error([&] { run_learn(StageContext(config), o); }).find("lines 2 and 3 both label the catalogue row of TARGETID 5400"),
            std::string::npos);
  std::filesystem::remove_all(d);
}
