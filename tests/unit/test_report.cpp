// report: histograms, top and typical rows, the template and its escaping, the catalogue read
// back, the whole page from a small scored run (the spectra and reconstructions embedded are
// the dataset's and the scored model's, checked by recomputing Eq. 6 from them), inputs that
// are not the catalogue's refused by name, and the page rendered in a real headless browser.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "specvae/core/config.hpp"
#include "specvae/core/error.hpp"
#include "specvae/io/dataset.hpp"
#include "specvae/io/hdf5.hpp"
#include "specvae/learn/learn.hpp"
#include "specvae/merge/merge.hpp"
#include "specvae/model/backend.hpp"
#include "specvae/model/vae.hpp"
#include "specvae/report/report.hpp"
#include "specvae/dist/communicator.hpp"
#include "specvae/score/lof.hpp"
#include "specvae/score/pca_yardstick.hpp"
#include "specvae/io/h5_columns.hpp"
#include "specvae/score/score.hpp"
#include "specvae/score/score_shard.hpp"
#include "test_score_fixture.hpp"

using namespace specvae;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path fresh_dir(const std::string& name) {
  static const fs::path root = fs::temp_directory_path() / ("specvae_test_report_" + std::to_string(::getpid()));
  static const struct Cleanup {
    ~Cleanup() { std::error_code ec; fs::remove_all(root, ec); }
  } cleanup;
  const fs::path d = root / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A small run as the stages leave it: dataset.h5, train/checkpoint-best.h5 + metrics.jsonl,
// score shards scored with that model (Eq. 6, recon. log-prob, exact LOF), catalogue/ from
// merge, and survey/truth.csv naming a few rows as injected anomalies.
struct SmallRun {
  fs::path dir, dataset, checkpoint, catalogue, truth;
  DatasetRows rows;
  model::VaeShape shape;
  std::vector<float> params;
};

SmallRun make_run(const std::string& name, std::int64_t n = 120, int bins = 48) {
  SmallRun r;
  r.dir = fresh_dir(name);
  r.rows = score_test::small_rows(0, n, bins);
  DatasetProvenance prov;
  for (int b = 0; b < bins; ++b) prov.wave.push_back(3600.0 + (7556.0 - 3600.0) * (b + 0.5) / bins);
  prov.wave_min = 3600;
  prov.wave_max = 7556;
  prov.selection = "test";
  r.dataset = r.dir / "dataset.h5";
  write_dataset(MPI_COMM_NULL, r.dataset, r.rows, prov, false);
  const DatasetInfo info = read_dataset_info(MPI_COMM_NULL, r.dataset);

  r.shape = score_test::small_shape(bins);
  r.params = model::initial_parameters(r.shape, 5);
  model::Checkpoint c;
  c.shape = r.shape;
  c.params = r.params;
  c.state.epoch = 3;
  c.config_hash = "c1";
  c.dataset_hash = info.dataset_hash;
  fs::create_directories(r.dir / "train");
  r.checkpoint = r.dir / "train" / "checkpoint-best.h5";
  model::save_checkpoint(r.checkpoint, c);
  {
    std::ofstream m(r.dir / "train" / "metrics.jsonl");
    for (int e = 1; e <= 3; ++e)
      m << json{{"epoch", e}, {"train_loss", 1000.0 / e}, {"val_loss", 1100.0 / e}, {"val_mse", 3.6 / e}, {"lr", 1e-3},
                {"best", true}}.dump()
        << "\n";
  }

  model::Vae vae(r.shape, r.params, model::make_backend("cpu", 1, "batch-invariant"));
  const score::RowScores rs = score::score_rows(vae, r.rows, 4, 2, 64);
  const score::LofResult lof = score::lof(rs.mu, n, r.shape.latent, 5, score::KnnMethod::KdTree, 1);
  score::ScoreShard s;
  s.row_begin = 0;
  s.row_count = n;
  s.n_total_rows = n;
  s.latent = r.shape.latent;
  s.lof_k = lof.k;
  s.recon_samples = 4;
  s.dataset_hash = info.dataset_hash;
  s.model_hash = score::model_hash(model::load_checkpoint(r.checkpoint));
  s.config_hash = "c1";
  s.code_version = "test";
  s.dataset_path = r.dataset.string();
  s.checkpoint_path = r.checkpoint.string();
  s.knn_method = "kdtree";
  static_cast<RowColumns&>(s) = static_cast<const RowColumns&>(r.rows);  // the per-row columns
  s.mse = rs.mse;
  s.recon_logprob = rs.recon_logprob;
  s.nof = lof.nof;
  s.latent_mu = rs.mu;
  s.latent_logvar = rs.logvar;
  run_in_process(1, [&](Communicator& comm) {
    const score::PcaYardstick pca = score::fit_pca_yardstick(comm, r.rows, n, 3, 1000);
    s.pca_mse = score::pca_mse(pca, r.rows);
    s.pca_k = pca.k;
    s.pca_sample_rows = pca.sample_rows;
    s.pca_mean = pca.mean;
    s.pca_evecs = pca.evecs;
  });
  fs::create_directories(r.dir / "score");
  score::write_score_shard(score::score_shard_path(r.dir / "score", 0), s);

  fs::create_directories(r.dir / "survey");
  r.truth = r.dir / "survey" / "truth.csv";
  {
    std::ofstream t(r.truth);
    t << "targetid,anomaly\n";
    for (std::int64_t i = 0; i < n; ++i)
      t << r.rows.targetid[i] << "," << (i % 17 == 5 ? "bad_pixel_run" : "normal") << "\n";
  }
  merge::MergeOptions mo;
  mo.shard_dir = r.dir / "score";
  mo.out_dir = r.dir / "catalogue";
  mo.truth = r.truth;
  merge::run_merge(StageContext(Config::defaults()), mo);
  r.catalogue = r.dir / "catalogue";
  return r;
}

// The JSON the page embeds.
json page_data(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"specvae-data\">";
  const std::size_t a = html.find(open);
  EXPECT_NE(a, std::string::npos);
  const std::size_t b = html.find("</script>", a);
  return json::parse(html.substr(a + open.size(), b - a - open.size()));
}

Config small_config() {
  Config cfg = Config::defaults();
  cfg.set("report.n_top=5");
  cfg.set("report.n_examples=2");
  cfg.set("report.n_label=8");
  cfg.set("report.latent_points=50");
  cfg.set("report.hist_bins=10");
  cfg.set("train.threads=1");
  return cfg;
}

std::string browser() {
  for (const char* b : {"chromium", "chromium-browser", "google-chrome", "chrome"}) {
    const std::string cmd = std::string("command -v ") + b + " > /dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return b;
  }
  return "";
}

std::string run_capture(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  while (std::size_t k = fread(buf, 1, sizeof buf, pipe.get())) out.append(buf, k);
  return out;
}

}  // namespace

TEST(ReportParts, ClassHistogramCountsEveryUsableValueOnce) {
  const std::vector<double> v = {1, 12, 30, 1000, 0, -3, NAN, INFINITY, 12, 55};
  const std::vector<std::uint8_t> c = {0, 2, 0, 0, 0, 2, 0, 0, 2, 2};
  const std::vector<std::string> names = {"A", "unused", "B"};
  const report::ClassHistogram h = report::class_histogram(v, c, names, 3, /*log_x=*/true);
  ASSERT_EQ(h.edges.size(), 4u);
  EXPECT_DOUBLE_EQ(h.edges.front(), 1.0);
  EXPECT_NEAR(h.edges[1], 10.0, 1e-9);
  EXPECT_NEAR(h.edges.back(), 1000.0, 1e-9);
  EXPECT_EQ(h.left_out, 4);  // 0, −3, NaN, +inf
  ASSERT_EQ(h.classes, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(h.counts[0], (std::vector<std::int64_t>{1, 1, 1}));  // 1 | 30 | 1000 (the maximum is in the last bin)
  EXPECT_EQ(h.counts[1], (std::vector<std::int64_t>{0, 3, 0}));  // 12, 12, 55

  const report::ClassHistogram lin = report::class_histogram(v, c, names, 2, /*log_x=*/false);
  EXPECT_EQ(lin.left_out, 2);  // NaN, +inf
  EXPECT_DOUBLE_EQ(lin.edges.front(), -3.0);
  std::int64_t total = 0;
  for (const auto& k : lin.counts)
    for (const auto x : k) total += x;
  EXPECT_EQ(total, 8);

  const std::vector<double> same = {2, 2, 2};
  const std::vector<std::uint8_t> sc = {1, 1, 1};
  const report::ClassHistogram s = report::class_histogram(same, sc, names, 4, false);
  EXPECT_EQ(s.classes, (std::vector<std::string>{"unused"}));
  EXPECT_EQ(s.counts[0][0], 3);
  EXPECT_GT(s.edges.back(), s.edges.front());
}

TEST(ReportParts, TopRowsFollowTheRanks) {
  const std::vector<std::int64_t> rank = {4, 1, 5, 2, 3};
  EXPECT_EQ(report::top_rows(rank, 3), (std::vector<std::int64_t>{1, 3, 4}));
  EXPECT_EQ(report::top_rows(rank, 99), (std::vector<std::int64_t>{1, 3, 4, 0, 2}));
  EXPECT_TRUE(report::top_rows(rank, 0).empty());
}

TEST(ReportParts, TypicalRowsStartAtTheMedianOfTheEligibleRowsOfTheClass) {
  const std::uint8_t G = 0, S = 1, Q = 2;
  const std::vector<std::uint8_t> cls = {G, G, S, G, G, G, G};
  const std::vector<double> mse = {5.0, 1.0, 3.0, 4.0, 2.0, 100.0, NAN};
  const std::vector<std::uint8_t> eligible = {1, 1, 1, 1, 1, 0, 1};
  // GALAXY eligible and finite: rows 1 (1.0), 4 (2.0), 3 (4.0), 0 (5.0); median index 1 → row 4.
  EXPECT_EQ(report::typical_rows(mse, cls, G, eligible, 1), (std::vector<std::int64_t>{4}));
  EXPECT_EQ(report::typical_rows(mse, cls, G, eligible, 3), (std::vector<std::int64_t>{4, 3, 1}));
  EXPECT_EQ(report::typical_rows(mse, cls, G, eligible, 10), (std::vector<std::int64_t>{4, 3, 1, 0}));
  EXPECT_EQ(report::typical_rows(mse, cls, S, eligible, 2), (std::vector<std::int64_t>{2}));
  EXPECT_TRUE(report::typical_rows(mse, cls, Q, eligible, 2).empty());
}

TEST(ReportParts, TemplateIsFilledAndTheDataCannotCloseItsScript) {
  const std::string tmpl =
      "<title><!--SPECVAE_TITLE--></title><h1><!--SPECVAE_TITLE--></h1><!--SPECVAE_TABLES-->"
      "<script type=\"application/json\" id=\"d\">/*SPECVAE_DATA*/</script>";
  const std::string data = R"({"a":"</script><script>alert(1)</script>","b":"<!--SPECVAE_TABLES-->"})";
  const std::string page = report::fill_template(tmpl, "a < b & \"c\"", "<table></table>", data);
  EXPECT_THAT(page, HasSubstr("<title>a &lt; b &amp; &quot;c&quot;</title>"));
  EXPECT_THAT(page, HasSubstr("<h1>a &lt; b &amp; &quot;c&quot;</h1>"));
  EXPECT_THAT(page, HasSubstr("<table></table><script"));
  // One closing tag only: the template's own.
  std::size_t closes = 0;
  for (std::size_t p = page.find("</script>"); p != std::string::npos; p = page.find("</script>", p + 1)) ++closes;
  EXPECT_EQ(closes, 1u);
  // A placeholder inside the data stays data.
  EXPECT_THAT(page, HasSubstr(R"("b":"\u003c!--SPECVAE_TABLES-->")"));
  // And the data reads back as it was.
  const std::size_t a = page.find("id=\"d\">") + 7;
  EXPECT_EQ(json::parse(page.substr(a, page.find("</script>") - a)), json::parse(data));
  EXPECT_THROW(report::fill_template("<html>/*SPECVAE_DATA*/</html>", "t", "", "{}"), ConfigError);
  // The compiled-in page has all three.
  EXPECT_NO_THROW(report::fill_template(report::page_template(), "t", "", "{}"));
}

TEST(ReportCatalogue, ReadBackEqualsWhatMergeWrote) {
  const SmallRun run = make_run("readback", 40, 16);
  const merge::Catalogue c = merge::read_catalogue(run.catalogue, /*with_logvar=*/true);
  ASSERT_EQ(c.n, 40);
  EXPECT_EQ(c.targetid, run.rows.targetid);
  EXPECT_EQ(c.spectype, run.rows.spectype);
  EXPECT_EQ(c.latent, run.shape.latent);
  EXPECT_EQ(c.latent_mu.size(), 40u * run.shape.latent);
  EXPECT_EQ(c.latent_logvar.size(), 40u * run.shape.latent);
  EXPECT_EQ(c.dataset_path, run.dataset.string());
  std::vector<std::int64_t> sorted = c.rank[0];
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < 40; ++i) EXPECT_EQ(sorted[i], i + 1);
  EXPECT_GT(c.n_flagged, 0);

  // The report's read: SPECTYPE as codes, no positions or details; the same values otherwise.
  merge::CatalogueColumns lean;
  lean.positions = false;
  lean.all_scores = false;
  lean.spectype_strings = false;
  const merge::Catalogue l = merge::read_catalogue(run.catalogue, lean);
  ASSERT_EQ(l.spectype_code.size(), 40u);
  EXPECT_TRUE(std::is_sorted(l.spectype_names.begin(), l.spectype_names.end()));
  for (std::int64_t i = 0; i < 40; ++i) EXPECT_EQ(l.spectype_names.at(l.spectype_code[i]), c.spectype[i]) << i;
  EXPECT_TRUE(l.spectype.empty() && l.ra.empty() && l.z.empty() && l.combined.empty() && l.score[1].empty() &&
              l.flag[0].empty() && l.latent_logvar.empty());
  EXPECT_EQ(l.score[0], c.score[0]);
  EXPECT_EQ(l.score[2], c.score[2]);
  EXPECT_EQ(l.rank_combined, c.rank_combined);
  EXPECT_EQ(l.latent_mu, c.latent_mu);
  // A few rows, in the order asked (one twice): every column as in the whole read.
  const std::vector<std::int64_t> rows = {5, 0, 39, 5};
  const merge::Catalogue r = merge::read_catalogue_rows(run.catalogue, rows);
  ASSERT_EQ(r.n, 4);
  const int L = c.latent;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const std::int64_t i = rows[k];
    EXPECT_EQ(r.targetid[k], c.targetid[i]);
    EXPECT_EQ(r.spectype[k], c.spectype[i]);
    EXPECT_EQ(r.ra[k], c.ra[i]);
    EXPECT_EQ(r.z[k], c.z[i]);
    EXPECT_EQ(r.snr[k], c.snr[i]);
    EXPECT_EQ(r.split[k], c.split[i]);
    for (int s = 0; s < merge::kNumScores; ++s) {
      EXPECT_EQ(r.score[s][k], c.score[s][i]);
      EXPECT_EQ(r.rank[s][k], c.rank[s][i]);
      EXPECT_EQ(r.flag[s][k], c.flag[s][i]);
    }
    EXPECT_EQ(r.combined[k], c.combined[i]);
    EXPECT_EQ(r.rank_combined[k], c.rank_combined[i]);
    for (int j = 0; j < L; ++j) {
      EXPECT_EQ(r.latent_mu[k * L + j], c.latent_mu[i * L + j]);
      EXPECT_EQ(r.latent_logvar[k * L + j], c.latent_logvar[i * L + j]);
    }
  }
  EXPECT_EQ(merge::read_catalogue_rows(run.catalogue, {}).n, 0);
  try {
    merge::read_catalogue_rows(run.catalogue, {3, 40});
    ADD_FAILURE() << "row 40 of 40 was read";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("row 40"));
  }
  try {
    merge::read_catalogue(run.dataset);
    ADD_FAILURE() << "a dataset was read as a catalogue";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("dataset.h5"));
    EXPECT_THAT(e.what(), HasSubstr("not a specvae catalogue"));
  }
}

TEST(Report, PageEmbedsTheScoredSpectraAndReconstructions) {
  const SmallRun run = make_run("page");
  const Config cfg = small_config();
  report::ReportOptions o;
  o.catalogue = run.catalogue;
  o.truth = run.truth;
  o.out = run.dir / "out" / "report.html";
  const report::ReportResult r = report::run_report(StageContext(cfg), o);
  ASSERT_TRUE(fs::exists(o.out));
  EXPECT_FALSE(fs::exists(o.out.string() + ".tmp"));
  EXPECT_EQ(r.rows, 120);
  const std::string html = slurp(o.out);
  EXPECT_EQ(r.bytes, html.size());

  // Self-contained: nothing fetched from elsewhere.
  for (const char* bad : {"<script src", "<link", "@import", "url(http", "<img src=\"http", "<iframe"})
    EXPECT_EQ(html.find(bad), std::string::npos) << bad;
  // The tables: provenance, classes, detection of the injected kind.
  EXPECT_THAT(html, HasSubstr("Weighted MSE (paper Eq. 6) by class"));
  EXPECT_THAT(html, HasSubstr("<td>bad_pixel_run</td>"));

  const json d = page_data(html);
  const merge::Catalogue cat = merge::read_catalogue(run.catalogue);
  EXPECT_EQ(d["meta"]["n_rows"], 120);
  EXPECT_EQ(d["metrics"].size(), 3u);
  EXPECT_EQ(d["wave"].size(), 48u);
  // Top lists in rank order.
  for (const auto& [name, rank] : std::vector<std::pair<std::string, const std::vector<std::int64_t>*>>{
           {"combined", &cat.rank_combined}, {"mse", &cat.rank[0]}, {"recon_logprob", &cat.rank[1]}, {"nof", &cat.rank[2]}}) {
    const auto rows = d["outliers"][name].get<std::vector<std::int64_t>>();
    ASSERT_EQ(rows.size(), 5u) << name;
    for (std::size_t k = 0; k < rows.size(); ++k) EXPECT_EQ((*rank)[rows[k]], static_cast<std::int64_t>(k) + 1) << name;
  }
  // Typical: two per SPECTYPE (GALAXY and STAR here), validation rows the truth calls normal.
  EXPECT_EQ(d["typical"].size(), 4u);
  for (const auto& t : d["typical"]) {
    const std::int64_t row = t["row"];
    EXPECT_EQ(cat.split[row], 1);
    EXPECT_NE(row % 17, 5);
  }
  // Histograms: every row counted; the injected anomalies are their own class.
  std::int64_t counted = 0;
  for (const auto& [cls, counts] : d["hist"]["mse"]["counts"].items())
    for (const auto& k : counts) counted += k.get<std::int64_t>();
  EXPECT_EQ(counted + d["hist"]["mse"]["left_out"].get<std::int64_t>(), 120);
  EXPECT_TRUE(d["hist"]["mse"]["counts"].contains("injected anomaly"));

  // Each spectrum shown is the dataset's row with the scored model's reconstruction: Eq. 6
  // recomputed from what the page holds agrees with the catalogue's.
  ASSERT_GE(d["spectra"].size(), 5u);
  for (const auto& [key, s] : d["spectra"].items()) {
    const std::int64_t row = s["row"];
    EXPECT_EQ(key, std::to_string(row));
    EXPECT_EQ(s["targetid"], std::to_string(run.rows.targetid[row]));
    double sum = 0;
    for (int b = 0; b < 48; ++b) {
      const double x = s["flux"][b], xhat = s["model"][b];
      EXPECT_NEAR(x, run.rows.flux[row * 48 + b], 1e-3 * std::fabs(run.rows.flux[row * 48 + b]) + 1e-9);
      const bool masked = run.rows.mask[row * 48 + b] != 0;
      if (!masked) sum += run.rows.ivar[row * 48 + b] * (x - xhat) * (x - xhat);
    }
    std::int64_t masked = 0;
    for (int b = 0; b < 48; ++b) masked += run.rows.mask[row * 48 + b];
    EXPECT_EQ(s["mask"].size(), static_cast<std::size_t>(masked));
    EXPECT_NEAR(sum / 48, cat.score[0][row], 0.02 * cat.score[0][row]) << "row " << row;
  }
  // The corner plot and the traversals.
  EXPECT_EQ(d["latent"]["points"].size(), 50u);
  {
    // Every row when the catalogue is small enough.
    Config all = cfg;
    all.set("report.latent_points=1000");
    report::run_report(StageContext(all), o);
    EXPECT_EQ(page_data(slurp(o.out))["latent"]["points"].size(), 120u);
  }
  EXPECT_EQ(d["latent"]["points"][0].size(), static_cast<std::size_t>(run.shape.latent + 1));
  EXPECT_EQ(d["traversal"]["spectra"].size(), static_cast<std::size_t>(run.shape.latent));
  EXPECT_EQ(d["traversal"]["spectra"][0].size(), 5u);
  EXPECT_EQ(d["traversal"]["spectra"][0][0].size(), 48u);
  // The labelling view: the order of learn.score (NOF by default), as `specvae learn` lists
  // the catalogue before any label.
  EXPECT_EQ(d["labelling"]["rows"].get<std::vector<std::int64_t>>(), report::top_rows(cat.rank[2], 8));
  Config by_mse = cfg;
  by_mse.set("learn.score=mse");
  report::run_report(StageContext(by_mse), o);
  EXPECT_EQ(page_data(slurp(o.out))["labelling"]["rows"].get<std::vector<std::int64_t>>(), report::top_rows(cat.rank[0], 8));
}

TEST(Report, LabellingViewFollowsLearnScoresAndStartsFromTheirLabels) {
  const SmallRun run = make_run("learnorder", 60, 16);
  const fs::path csv = run.dir / "learn_scores.csv";
  {
    std::ofstream f(csv);
    f << "order,targetid,human_label,score,predicted_user_score,trained_score,nof\n";
    for (const std::int64_t row : {7, 3, 50, 12}) f << "1," << run.rows.targetid[row] << ",-1,1,1,1,-1\n";
    f << "5," << run.rows.targetid[20] << ",4,1,1,1,-1\n";
  }
  const fs::path labels = run.dir / "labels.csv";
  { std::ofstream(labels) << "targetid,label\n" << run.rows.targetid[9] << ",2\n"; }
  report::ReportOptions o;
  o.catalogue = run.catalogue / "catalogue.h5";
  o.learn_scores = csv;
  o.labels = labels;
  o.out = run.dir / "r.html";
  Config cfg = small_config();
  cfg.set("report.n_label=4");
  report::run_report(StageContext(cfg), o);
  const json d = page_data(slurp(o.out));
  EXPECT_EQ(d["labelling"]["rows"].get<std::vector<std::int64_t>>(), (std::vector<std::int64_t>{7, 3, 50, 12}));
  EXPECT_EQ(d["labelling"]["initial"][std::to_string(run.rows.targetid[20])], 4);
  EXPECT_EQ(d["labelling"]["initial"][std::to_string(run.rows.targetid[9])], 2);
  EXPECT_THAT(d["labelling"]["source"].get<std::string>(), HasSubstr("learn_scores.csv"));

  // A TARGETID that is not in the catalogue is named.
  { std::ofstream(csv, std::ios::app) << "6,123456789,-1,1,1,1,-1\n"; }
  cfg.set("report.n_label=10");
  try {
    report::run_report(StageContext(cfg), o);
    ADD_FAILURE() << "an unknown TARGETID was accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("learn_scores.csv"));
    EXPECT_THAT(e.what(), HasSubstr("123456789"));
  }
}

// After `specvae learn` has put its columns into the catalogue, a plain `specvae report` (no
// learn_scores.csv handed over) shows learn's scores, its list and its order, and starts the
// labelling view from learn's labels.
TEST(Report, LearnColumnsInTheCatalogueReachThePage) {
  const SmallRun run = make_run("learncols", 80, 16);
  const fs::path labels = run.dir / "labels.csv";
  {
    std::ofstream f(labels);
    f << "targetid,label\n" << run.rows.targetid[5] << ",5\n" << run.rows.targetid[10] << ",0\n" << run.rows.targetid[22] << ",3\n";
  }
  learn::LearnOptions lo;
  lo.catalogue = run.catalogue;
  lo.labels = labels;
  lo.out_dir = run.dir / "learn";
  learn::run_learn(StageContext(Config::defaults()), lo);
  const fs::path h5 = run.catalogue / "catalogue.h5";
  std::vector<std::int64_t> order;
  std::vector<double> trained;
  {
    h5::Handle f = h5::open_file(MPI_COMM_NULL, h5);
    order = h5col::read<std::int64_t>(f, "learn_order", 80, 0, h5);
    trained = h5col::read<double>(f, "learn_trained_score", 80, 0, h5);
  }

  report::ReportOptions o;
  o.catalogue = run.catalogue;
  o.out = run.dir / "r.html";
  report::run_report(StageContext(small_config()), o);  // n_label 8, n_top 5
  const json d = page_data(slurp(o.out));
  EXPECT_EQ(d["labelling"]["rows"].get<std::vector<std::int64_t>>(), report::top_rows(order, 8));
  EXPECT_THAT(d["labelling"]["source"].get<std::string>(), HasSubstr("learn_order"));
  EXPECT_EQ(d["labelling"]["initial"][std::to_string(run.rows.targetid[5])], 5);
  EXPECT_EQ(d["labelling"]["initial"][std::to_string(run.rows.targetid[10])], 0);
  EXPECT_EQ(d["labelling"]["initial"][std::to_string(run.rows.targetid[22])], 3);
  EXPECT_EQ(d["outliers"]["learn"].get<std::vector<std::int64_t>>(), report::top_rows(order, 5));
  int with_learn = 0;
  for (const auto& [key, s] : d["spectra"].items()) {
    const std::int64_t r = s["row"];
    ASSERT_TRUE(s["scores"].contains("learn")) << "row " << r;
    EXPECT_NEAR(s["scores"]["learn"].get<double>(), trained[r], 1e-12 * (1 + std::fabs(trained[r])));
    EXPECT_EQ(s["ranks"]["learn"], order[r]);
    EXPECT_EQ(s["mu"].size(), 3u);
    ++with_learn;
  }
  EXPECT_GE(with_learn, 8);

  // Without learn's columns the page has no learn score and the labelling view follows learn.score.
  const SmallRun plain = make_run("learncols-none", 80, 16);
  o.catalogue = plain.catalogue;
  o.out = plain.dir / "r.html";
  report::run_report(StageContext(small_config()), o);
  const json p = page_data(slurp(o.out));
  EXPECT_FALSE(p["outliers"].contains("learn"));
  EXPECT_THAT(p["labelling"]["source"].get<std::string>(), HasSubstr("learn.score"));
  for (const auto& [key, s] : p["spectra"].items()) EXPECT_FALSE(s["scores"].contains("learn"));
}

TEST(Report, ATinyCatalogueStillGivesAWholePage) {
  const SmallRun run = make_run("tiny", 3, 16);  // fewer rows than every list wants
  report::ReportOptions o;
  o.catalogue = run.catalogue;
  o.truth = run.truth;
  o.out = run.dir / "r.html";
  const report::ReportResult r = report::run_report(StageContext(small_config()), o);
  EXPECT_EQ(r.rows, 3);
  const json d = page_data(slurp(o.out));
  EXPECT_EQ(d["outliers"]["combined"].size(), 3u);
  EXPECT_EQ(d["labelling"]["rows"].size(), 3u);
  EXPECT_EQ(d["latent"]["points"].size(), 3u);
  EXPECT_EQ(d["spectra"].size(), 3u);
  EXPECT_FALSE(d["typical"].empty());
  // An existing folder as --out: report.html inside it.
  o.out = run.dir;
  EXPECT_EQ(report::run_report(StageContext(small_config()), o).html, run.dir / "report.html");
  EXPECT_TRUE(fs::is_regular_file(run.dir / "report.html"));
}

// A string that is not UTF-8 (here an anomaly kind in Latin-1 in the truth table) is shown with
// U+FFFD in its place; the report is written.
TEST(Report, AStringThatIsNotUtf8IsShownReplacedNotFatal) {
  const SmallRun run = make_run("latin1", 40, 16);
  {
    std::ofstream t(run.truth);
    t << "targetid,anomaly\n";
    for (std::int64_t i = 0; i < 40; ++i) t << run.rows.targetid[i] << "," << (i == 5 ? "raie \xe9troite" : "normal") << "\n";
  }
  report::ReportOptions o;
  o.catalogue = run.catalogue;
  o.truth = run.truth;
  o.out = run.dir / "r.html";
  ASSERT_NO_THROW(report::run_report(StageContext(small_config()), o));
  EXPECT_THAT(slurp(o.out), HasSubstr("raie \\ufffdtroite"));
}

// The Training section opens with a model-quality box: a warning when train's verdict says the
// model did not converge or its validation weighted MSE is far above the noise floor of 1, a
// plain line otherwise. Checked in the browser, as a reader sees it.
TEST(ReportBrowser, WarnsWhenTheModelIsPoor) {
  const std::string b = browser();
  if (b.empty()) GTEST_SKIP() << "no chromium on this machine (jobs/install_deps.sh installs it)";
  const SmallRun run = make_run("quality");
  const auto page_for = [&](const json& summary, const std::string& name) {
    std::ofstream(run.dir / "train" / "train_summary.json") << summary.dump();
    report::ReportOptions o;
    o.catalogue = run.catalogue;
    o.out = run.dir / (name + ".html");
    report::run_report(StageContext(small_config()), o);
    EXPECT_EQ(page_data(slurp(o.out))["training_summary"]["converged"], summary["converged"]);
    const fs::path profile = run.dir / ("chromium-" + name);
    return run_capture(b + " --headless --no-sandbox --disable-gpu --user-data-dir=" + profile.string() +
                       " --virtual-time-budget=5000 --dump-dom 'file://" + o.out.string() + "' 2>/dev/null");
  };
  const std::string poor = page_for({{"converged", false},
                                     {"reason", "the validation loss still fell 6.0% over the last 10 of 50 epochs"},
                                     {"final_val_mse", 11.55}},
                                    "poor");
  EXPECT_THAT(poor, HasSubstr("data-model-quality=\"poor\""));
  EXPECT_THAT(poor, HasSubstr("The model did not converge: the validation loss still fell 6.0%"));
  EXPECT_THAT(poor, HasSubstr("validation weighted MSE is 11.6"));
  const std::string good = page_for({{"converged", true}, {"reason", ""}, {"final_val_mse", 1.2}}, "good");
  EXPECT_THAT(good, HasSubstr("data-model-quality=\"ok\""));
  EXPECT_THAT(good, Not(HasSubstr("data-model-quality=\"poor\"")));
  EXPECT_THAT(good, HasSubstr("converged; validation weighted MSE 1.2 (noise floor"));
}

// Labels kept in the browser are keyed by the dataset alone: a retrained model on the same rows
// finds them again.
TEST(Report, BrowserLabelsAreKeyedByTheDatasetNotTheModel) {
  const SmallRun run = make_run("storage", 40, 16);
  report::ReportOptions o;
  o.catalogue = run.catalogue;
  o.out = run.dir / "r.html";
  report::run_report(StageContext(small_config()), o);
  const merge::Catalogue cat = merge::read_catalogue(run.catalogue);
  EXPECT_EQ(page_data(slurp(o.out))["meta"]["storage_key"], "specvae-labels-" + fnv1a_hex(cat.dataset_hash));
}

TEST(Report, RefusesADatasetOrModelThatIsNotTheCatalogues) {
  const SmallRun run = make_run("foreign", 40, 16);
  const SmallRun other = make_run("foreign_other", 41, 16);
  report::ReportOptions o;
  o.catalogue = run.catalogue;
  o.out = run.dir / "r.html";
  o.dataset = other.dataset;
  try {
    report::run_report(StageContext(small_config()), o);
    ADD_FAILURE() << "a foreign dataset was accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr(other.dataset.string()));
    EXPECT_THAT(e.what(), HasSubstr("not its dataset"));
  }
  o.dataset.clear();
  model::Checkpoint c = model::load_checkpoint(run.checkpoint);
  c.params[0] += 1.0f;
  const fs::path changed = run.dir / "changed.h5";
  model::save_checkpoint(changed, c);
  o.checkpoint = changed;
  try {
    report::run_report(StageContext(small_config()), o);
    ADD_FAILURE() << "another model was accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("changed.h5"));
    EXPECT_THAT(e.what(), HasSubstr("not its model"));
  }
  EXPECT_FALSE(fs::exists(o.out));
  // A broken metrics line is named with its line number.
  o.checkpoint.clear();
  { std::ofstream(run.dir / "train" / "metrics.jsonl", std::ios::app) << "{not json\n"; }
  try {
    report::run_report(StageContext(small_config()), o);
    ADD_FAILURE() << "a broken metrics file was accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("metrics.jsonl:4"));
  }
}

// The page in a real browser: every section renders without a script error, the figures are
// drawn, and the labelling view's keys and CSV export work (the page's own #selftest drives it
// with real keyboard events).
TEST(ReportBrowser, RendersAndTheLabellingKeysWorkInHeadlessChromium) {
  const std::string b = browser();
  if (b.empty()) GTEST_SKIP() << "no chromium on this machine (jobs/install_deps.sh installs it)";
  const SmallRun run = make_run("browser");
  // Labels to start from: one shown in the labelling view, one not.
  const merge::Catalogue cat = merge::read_catalogue(run.catalogue);
  const std::int64_t shown = report::top_rows(cat.rank[2], 1)[0];
  const std::int64_t other = report::top_rows(cat.rank[2], 100).back();
  const fs::path labels = run.dir / "labels.csv";
  std::ofstream(labels) << "targetid,label\n" << cat.targetid[other] << ",1\n" << cat.targetid[shown] << ",4\n";
  report::ReportOptions o;
  o.catalogue = run.catalogue;
  o.truth = run.truth;
  o.labels = labels;
  o.out = run.dir / "report.html";
  report::run_report(StageContext(small_config()), o);
  const fs::path profile = run.dir / "chromium-profile";
  const std::string cmd = b + " --headless --no-sandbox --disable-gpu --user-data-dir=" + profile.string() +
                          " --virtual-time-budget=10000 --dump-dom 'file://" + o.out.string() + "#selftest' 2>/dev/null";
  const std::string dom = run_capture(cmd);
  ASSERT_THAT(dom, HasSubstr("<body")) << "the browser printed no page: " << cmd;
  std::smatch m;
  const std::size_t at = dom.find("<body");
  const std::string body = dom.substr(at, dom.find('>', at) + 1 - at);  // the status attributes
  EXPECT_THAT(body, HasSubstr("data-status=\"ok\""));
  EXPECT_THAT(body, HasSubstr("data-selftest=\"pass\""));
  ASSERT_TRUE(std::regex_search(body, m, std::regex("data-figures=\"([0-9]+)\""))) << body;
  // The export starts from the given labels: the shown spectrum's first, then the other.
  EXPECT_THAT(body, HasSubstr("data-labels-at-load=\"targetid,label\n" + std::to_string(cat.targetid[shown]) + ",4\n" +
                              std::to_string(cat.targetid[other]) + ",1\n\""));
  // Loss + lr, two histograms, the corner plot's 3 panels (3-d latent), traversals, spectra.
  EXPECT_GE(std::stoi(m[1]), 2 + 2 + 3 + 3 + 4);
  // Line labels by priority: every spectrum (rest frame 3600-7556 Å) labels Hα, Hβ and [O III]
  // 5007; [N II] 6549, 15 Å blueward of Hα, never takes Hα's place.
  int spectra_with_labels = 0;
  const std::regex labels_re("data-line-labels=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), labels_re); it != std::sregex_iterator(); ++it) {
    const std::string shown = "|" + (*it)[1].str() + "|";
    ++spectra_with_labels;
    EXPECT_THAT(shown, HasSubstr("|H\u03b1|")) << shown;
    EXPECT_THAT(shown, HasSubstr("|H\u03b2|")) << shown;
    EXPECT_THAT(shown, HasSubstr("|[O III]|")) << shown;
    EXPECT_THAT(shown, HasSubstr("|[O II]|")) << shown;
    EXPECT_THAT(shown, Not(HasSubstr("[N II]|H\u03b1|"))) << shown;
  }
  EXPECT_GE(spectra_with_labels, 4);
}
