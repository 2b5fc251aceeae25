// merge: coverage checks (missing, overlapping, foreign-model shards are refused), ranks,
// flags, thresholds and the combined score, the three output files (FITS read back by
// astropy), and detection quality against a truth table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <unistd.h>

#include "specvae/core/config.hpp"
#include "specvae/core/error.hpp"
#include "specvae/merge/merge.hpp"
#include "specvae/merge/writers.hpp"
#include "specvae/io/h5_columns.hpp"
#include "specvae/io/hdf5.hpp"

using namespace specvae;
namespace fs = std::filesystem;

namespace {

// A fresh folder per test case, removed when the test binary exits.
fs::path fresh_dir(const std::string& name) {
  static const fs::path root = fs::temp_directory_path() / ("specvae_test_merge_" + std::to_string(::getpid()));
  static const struct Cleanup {
    ~Cleanup() { std::error_code ec; fs::remove_all(root, ec); }
  } cleanup;
  const fs::path d = root / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Rows [begin, begin+count) of a fake N-row survey with deterministic scores.
score::ScoreShard make_shard(std::int64_t begin, std::int64_t count, std::int64_t n_total,
                             const std::string& model = "m1", int latent = 3) {
  score::ScoreShard s;
  s.row_begin = begin;
  s.row_count = count;
  s.n_total_rows = n_total;
  s.latent = latent;
  s.lof_k = 20;
  s.recon_samples = 4;
  s.dataset_hash = "d1";
  s.model_hash = model;
  s.config_hash = "c1";
  for (std::int64_t i = begin; i < begin + count; ++i) {
    s.targetid.push_back(1000 + i);
    s.survey.push_back(i % 3 == 0 ? "main" : "sv3");
    s.program.push_back(i % 2 == 0 ? "dark" : "bright");
    s.healpix.push_back(static_cast<std::int32_t>(27000 + i % 5));
    s.zwarn.push_back(i % 9 == 0 ? 4 : 0);
    s.deltachi2.push_back(100.0 + static_cast<double>(i));
    s.coadd_fiberstatus.push_back(0);
    s.ra.push_back(150.0 + 0.01 * i);
    s.dec.push_back(2.0 - 0.01 * i);
    s.z.push_back(0.1 + 0.001 * i);
    s.spectype.push_back(i % 10 == 0 ? "STAR" : (i % 7 == 0 ? "QSO" : "GALAXY"));
    s.snr.push_back(10.0f + static_cast<float>(i % 5));
    s.split.push_back(i % 4 == 0);
    // Row i's MSE grows with (i·37 mod N): a permutation, so ranks are known exactly.
    const double key = static_cast<double>((i * 37) % n_total);
    s.mse.push_back(1.0 + key);
    s.recon_logprob.push_back(-10.0 * key);  // lower = weirder: same order as mse
    s.nof.push_back(-1.0 - 0.01 * static_cast<double>((i * 11) % n_total));
    s.pca_mse.push_back(2.0 + static_cast<double>((i * 13) % n_total));
    for (int j = 0; j < latent; ++j) {
      s.latent_mu.push_back(static_cast<float>(i + j));
      s.latent_logvar.push_back(-static_cast<float>(j));
    }
  }
  s.pca_k = 2;
  s.pca_sample_rows = 7;
  s.pca_mean = {0.1, 0.2, 0.3, 0.4};
  s.pca_evecs = {1, 0, 0, 0, 0, 1, 0, 0};
  return s;
}

void write_shards(const fs::path& dir, const std::vector<score::ScoreShard>& shards) {
  for (std::size_t r = 0; r < shards.size(); ++r) score::write_score_shard(score::score_shard_path(dir, r), shards[r]);
}

std::string expect_input_error(const Config& cfg, const merge::MergeOptions& o) {
  try {
    merge::run_merge(StageContext(cfg), o);
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "merge accepted a bad shard set";
  return "";
}

}  // namespace

TEST(MergeCoverage, RefusesMissingOverlappingAndForeignShards) {
  const Config cfg = Config::defaults();
  const std::int64_t N = 100;
  {
    const fs::path d = fresh_dir("missing");
    write_shards(d, {make_shard(0, 40, N), make_shard(70, 30, N)});
    const std::string msg = expect_input_error(cfg, {d, {}, d / "out", {}});
    EXPECT_NE(msg.find("rows 40–69"), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
  }
  {
    const fs::path d = fresh_dir("tail");
    write_shards(d, {make_shard(0, 40, N), make_shard(40, 30, N)});
    EXPECT_NE(expect_input_error(cfg, {d, {}, d / "out", {}}).find("rows 70–99"), std::string::npos);
  }
  {
    const fs::path d = fresh_dir("overlap");
    write_shards(d, {make_shard(0, 50, N), make_shard(40, 60, N)});
    const std::string msg = expect_input_error(cfg, {d, {}, d / "out", {}});
    EXPECT_NE(msg.find("overlaps"), std::string::npos) << msg;
  }
  {
    const fs::path d = fresh_dir("model");
    write_shards(d, {make_shard(0, 50, N), make_shard(50, 50, N, "m2")});
    const std::string msg = expect_input_error(cfg, {d, {}, d / "out", {}});
    EXPECT_NE(msg.find("model m2"), std::string::npos) << msg;
  }
  {
    score::ScoreShard other = make_shard(50, 50, N);
    other.dataset_hash = "d2";
    const fs::path d = fresh_dir("dataset");
    write_shards(d, {make_shard(0, 50, N), other});
    const std::string msg = expect_input_error(cfg, {d, {}, d / "out", {}});
    EXPECT_NE(msg.find("from dataset d2"), std::string::npos) << msg;
  }
  {
    // Scored with other settings: LOF's k differs (and so the config).
    score::ScoreShard other = make_shard(50, 50, N);
    other.lof_k = 5;
    other.config_hash = "c2";
    const fs::path d = fresh_dir("config");
    write_shards(d, {make_shard(0, 50, N), other});
    const std::string msg = expect_input_error(cfg, {d, {}, d / "out", {}});
    EXPECT_NE(msg.find("lof_k 5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("config c2"), std::string::npos) << msg;
  }
  {
    const fs::path d = fresh_dir("none");
    EXPECT_NE(expect_input_error(cfg, {d, {}, d / "out", {}}).find("no score-shard"), std::string::npos);
  }
  {
    // A shard that is not a score shard at all.
    const fs::path d = fresh_dir("garbage");
    write_shards(d, {make_shard(0, 100, N)});
    std::ofstream(score::score_shard_path(d, 1)) << "not hdf5";
    EXPECT_THROW(merge::run_merge(StageContext(cfg), {d, {}, d / "out", {}}), std::exception);
  }
}

TEST(MergeCatalogue, RanksFlagsAndCombinedScore) {
  const std::int64_t N = 100;
  const fs::path d = fresh_dir("rank");
  // Three shards, one of them empty (a rank without rows), written out of order.
  write_shards(d, {make_shard(60, 40, N), make_shard(0, 60, N), make_shard(100, 0, N)});
  Config cfg = Config::defaults();
  cfg.set("merge.top_fraction=0.05");
  cfg.set("merge.top_n_csv=7");
  const merge::MergeResult r = merge::run_merge(StageContext(cfg), {d, {}, d / "out", {}});
  EXPECT_EQ(r.rows, N);
  ASSERT_TRUE(fs::exists(r.hdf5) && fs::exists(r.fits) && fs::exists(r.csv));

  h5::Handle f = h5::open_file(MPI_COMM_NULL, r.hdf5);
  const auto tid = h5col::read<std::int64_t>(f, "targetid", N, 0, r.hdf5);
  const auto rank_mse = h5col::read<std::int64_t>(f, "rank_mse", N, 0, r.hdf5);
  const auto rank_lp = h5col::read<std::int64_t>(f, "rank_recon_logprob", N, 0, r.hdf5);
  const auto flag_mse = h5col::read<std::uint8_t>(f, "flag_mse", N, 0, r.hdf5);
  const auto combined = h5col::read<double>(f, "combined", N, 0, r.hdf5);
  for (std::int64_t i = 0; i < N; ++i) {
    EXPECT_EQ(tid[i], 1000 + i);  // dataset row order
    // mse = 1 + (37 i mod N): the largest key has rank 1.
    EXPECT_EQ(rank_mse[i], N - (i * 37) % N);
    EXPECT_EQ(rank_lp[i], rank_mse[i]);
    EXPECT_EQ(flag_mse[i], rank_mse[i] <= 5);
    EXPECT_GT(combined[i], 0.0);
    EXPECT_LE(combined[i], 1.0);
  }
  EXPECT_EQ(h5::read_attr_int(f, "n_flagged"), 5);
  EXPECT_DOUBLE_EQ(h5::read_attr_double(f, "threshold_mse"), 1.0 + 95.0);  // the 5th largest key is 95
  EXPECT_DOUBLE_EQ(h5::read_attr_double(f, "top_fraction"), 0.05);

  // The CSV: a header and 7 rows for each of 5 scores (pca_mse too); its first mse row is rank 1.
  std::ifstream csv(r.csv);
  std::string line;
  int lines = 0;
  std::getline(csv, line);
  EXPECT_EQ(line.rfind("by,rank,targetid", 0), 0u);
  std::string first;
  while (std::getline(csv, line)) {
    if (lines++ == 0) first = line;
  }
  EXPECT_EQ(lines, 35);
  // Row i with 37 i mod 100 = 99 is i = 27 (37·27 = 999): targetid 1027.
  EXPECT_EQ(first.rfind("mse,1,1027,", 0), 0u) << first;
}

// A survey too small for the PCA yardstick (fewer than 2 training spectra): no eigenspectra,
// pca_mse NaN, ranked last and never flagged; the catalogue is still written and read back.
TEST(MergeCatalogue, NoYardstickOnATinySurvey) {
  const fs::path d = fresh_dir("noyard");
  score::ScoreShard s = make_shard(0, 5, 5);
  s.pca_k = 0;
  s.pca_evecs.clear();
  s.pca_mse.assign(5, std::nan(""));
  write_shards(d, {s});
  const merge::MergeResult r = merge::run_merge(StageContext(Config::defaults()), {d, {}, d / "out", {}});
  const merge::Catalogue c = merge::read_catalogue(r.hdf5);
  EXPECT_EQ(c.pca_k, 0);
  EXPECT_TRUE(c.pca_evecs.empty());
  for (std::int64_t i = 0; i < 5; ++i) EXPECT_TRUE(std::isnan(c.score[merge::kPcaScore][i]));
  EXPECT_EQ(std::count(c.flag[merge::kPcaScore].begin(), c.flag[merge::kPcaScore].end(), 1), 0);
}

// An output folder CFITSIO would read as its extended file-name syntax is taken literally.
TEST(MergeCatalogue, WritesIntoAFolderWithBracketsAndParentheses) {
  const fs::path d = fresh_dir("odd");
  write_shards(d, {make_shard(0, 20, 20)});
  const fs::path out = d / "run (copy) [1]+-x";
  const merge::MergeResult r = merge::run_merge(StageContext(Config::defaults()), {d, {}, out, {}});
  EXPECT_EQ(r.fits, out / "catalogue.fits");
  EXPECT_TRUE(fs::exists(out / "catalogue.fits"));
  EXPECT_FALSE(fs::exists(out / "catalogue.fits.tmp"));
}

TEST(MergeCatalogue, FitsTableReadsInAstropy) {
  const std::int64_t N = 30;
  const fs::path d = fresh_dir("fits");
  write_shards(d, {make_shard(0, 30, N)});
  const merge::MergeResult r = merge::run_merge(StageContext(Config::defaults()), {d, {}, d / "out", {}});
  const std::string script =
      "import sys; from astropy.table import Table; t = Table.read(sys.argv[1], hdu='CATALOG');"
      "assert len(t) == 30, len(t); assert list(t['TARGETID'][:3]) == [1000, 1001, 1002];"
      "assert t['LATENT_MU'].shape == (30, 3), t['LATENT_MU'].shape;"
      "assert float(t['LATENT_MU'][4][2]) == 6.0; assert t['SPECTYPE'][0].strip() == 'STAR';"
      "assert t['FLAG_MSE'].dtype == bool and int(t['FLAG_MSE'].sum()) == 1;"
      "assert abs(t.meta['TOPFRAC'] - 0.01) < 1e-12; print('ok')";
  const std::string cmd = std::string(SPECVAE_PYTHON) + " -c \"" + script + "\" " + r.fits.string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

// Ranks against a plain stable sort: NaN last, ties (also +0 and -0) in row order, infinities
// at the ends, for a score where higher is weirder and one where lower is.
TEST(MergeCatalogue, RanksPutNanLastAndKeepRowOrderInTies) {
  std::mt19937_64 gen(7);
  merge::Catalogue c;
  c.n = 2000;
  const double specials[] = {std::nan(""), 0.0, -0.0, INFINITY, -INFINITY, 1.5, -1.5};
  for (auto& v : c.score) {
    v.resize(static_cast<std::size_t>(c.n));
    for (double& x : v) x = gen() % 3 == 0 ? specials[gen() % 7] : static_cast<double>(static_cast<int>(gen() % 50) - 25);
  }
  merge::rank_catalogue(c, 0.01);
  for (int s = 0; s < merge::kNumScores; ++s) {
    const std::vector<double>& v = c.score[s];
    const bool higher = merge::kScores[s].higher_is_weirder;
    std::vector<std::int64_t> order(v.size());
    std::iota(order.begin(), order.end(), std::int64_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
      if (std::isnan(v[a]) || std::isnan(v[b])) return !std::isnan(v[a]) && std::isnan(v[b]);
      return higher ? v[a] > v[b] : v[a] < v[b];
    });
    for (std::size_t r = 0; r < order.size(); ++r)
      ASSERT_EQ(c.rank[s][order[r]], static_cast<std::int64_t>(r) + 1) << merge::kScores[s].name << " rank " << r + 1;
    EXPECT_EQ(c.threshold[s], v[order[19]]);  // 1% of 2000 rows flagged
    for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(c.flag[s][i], c.rank[s][i] <= 20 && !std::isnan(v[i])) << i;
  }
  // Fewer finite rows than the top fraction: only they are flagged, the threshold is theirs.
  merge::Catalogue few;
  few.n = 10;
  for (auto& v : few.score) v.assign(10, NAN);
  few.score[0][6] = 2.5;
  merge::rank_catalogue(few, 0.3);
  EXPECT_EQ(few.n_flagged, 3);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(few.flag[0][i], i == 6) << i;
  EXPECT_EQ(few.rank[0][6], 1);
  EXPECT_EQ(few.threshold[0], 2.5);
  EXPECT_TRUE(std::isnan(few.threshold[1]));
  EXPECT_EQ(std::count(few.flag[1].begin(), few.flag[1].end(), 1), 0);
}

// The FITS table is written in row blocks (CFITSIO's optimal number by default); the bytes
// must not depend on the block size. Cards are compared in 80-byte units, the CHECKSUM card
// and the DATE card (which carry a time stamp) left out and DATASUM compared by value.
TEST(MergeCatalogue, FitsTableIsTheSameForEveryRowBlockSize) {
  const std::int64_t N = 53;
  const fs::path d = fresh_dir("fits_blocks");
  std::vector<score::ScoreShard> shards = {make_shard(0, 20, N, "m1", 4), make_shard(20, 33, N, "m1", 4)};
  const merge::Catalogue cat = merge::build_catalogue(shards, {d / "a.h5", d / "b.h5"}, 0.05);
  const auto slurp = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  merge::write_catalogue_fits(d / "whole.fits", cat, N);
  const std::string ref = slurp(d / "whole.fits");
  ASSERT_EQ(ref.size() % 2880, 0u);
  for (const std::int64_t block : {0, 1, 7, 52, 1000}) {
    const fs::path p = d / ("block" + std::to_string(block) + ".fits");
    merge::write_catalogue_fits(p, cat, block);
    const std::string got = slurp(p);
    ASSERT_EQ(got.size(), ref.size()) << "block " << block;
    int datasum_cards = 0;
    for (std::size_t i = 0; i < ref.size(); i += 80) {
      const std::string a = ref.substr(i, 80), b = got.substr(i, 80);
      if (a.rfind("CHECKSUM=", 0) == 0 && b.rfind("CHECKSUM=", 0) == 0) continue;
      if (a.rfind("DATE    =", 0) == 0 && b.rfind("DATE    =", 0) == 0) continue;  // when it was written
      if (a.rfind("DATASUM =", 0) == 0 && b.rfind("DATASUM =", 0) == 0) {
        ++datasum_cards;
        EXPECT_EQ(a.substr(0, 30), b.substr(0, 30)) << "block " << block;
        continue;
      }
      ASSERT_EQ(a, b) << "block " << block << ", bytes " << i << "-" << i + 79;
    }
    EXPECT_GE(datasum_cards, 1);
  }
}

TEST(MergeQuality, DetectionRecallAndAuc) {
  const std::int64_t N = 100;
  const fs::path d = fresh_dir("truth");
  write_shards(d, {make_shard(0, 100, N)});
  // Rows with the 3 largest mse keys (99, 98, 97) are "weird"; two normal-looking ones are "hidden".
  std::ofstream t(d / "truth.csv");
  t << "targetid,file_group,row,class,subtype,anomaly,z_true,z_reported,spectype_reported,mag_r,snr\n";
  for (std::int64_t i = 0; i < N; ++i) {
    const std::int64_t key = (i * 37) % N;
    const char* kind = key >= 97 ? "weird" : (key == 10 || key == 11 ? "hidden" : "normal");
    t << 1000 + i << ",0," << i << ",GALAXY,,"<< kind << ",0.1,0.1,GALAXY,19,10\n";
  }
  t << "99999,0,0,GALAXY,,weird,0.1,0.1,GALAXY,19,10\n";  // dropped by ingest: not in the catalogue
  t.close();
  Config cfg = Config::defaults();
  cfg.set("merge.top_fraction=0.03");
  const merge::MergeResult r = merge::run_merge(StageContext(cfg), {d, {}, d / "out", d / "truth.csv"});
  ASSERT_EQ(r.detection.size(), 3u);
  const merge::DetectionRow& hidden = r.detection[0];
  const merge::DetectionRow& weird = r.detection[1];
  // The last row takes every anomaly together: 5 in the catalogue; the top 3 by mse are the 3
  // weird ones, so precision 1 and recall 3/5; pca_mse (key 13 i mod N) puts other rows there.
  const merge::DetectionRow& any = r.detection[2];
  EXPECT_EQ(any.kind, "all anomalies");
  EXPECT_EQ(any.n_truth, 6);
  EXPECT_EQ(any.n_catalogue, 5);
  EXPECT_DOUBLE_EQ(any.precision[0], 1.0);
  EXPECT_DOUBLE_EQ(any.recall[0], 0.6);
  EXPECT_DOUBLE_EQ(weird.precision[0], 1.0);
  EXPECT_NE(r.report.find("all anomalies (5 in the catalogue) vs normal spectra, against the PCA yardstick"),
            std::string::npos)
      << r.report;
  EXPECT_NE(r.report.find("beats the PCA yardstick"), std::string::npos);
  EXPECT_EQ(weird.kind, "weird");
  EXPECT_EQ(weird.n_truth, 4);
  EXPECT_EQ(weird.n_catalogue, 3);
  EXPECT_DOUBLE_EQ(weird.recall[0], 1.0);  // all three in the top 3 by mse
  EXPECT_DOUBLE_EQ(weird.auc[0], 1.0);
  EXPECT_DOUBLE_EQ(weird.auc[1], 1.0);     // recon_logprob orders the same way
  EXPECT_DOUBLE_EQ(hidden.recall[0], 0.0);
  EXPECT_LT(hidden.auc[0], 0.2);
  EXPECT_NE(r.report.find("weird"), std::string::npos);
  // The per-class table without the injected kinds: 100 rows minus 3 weird and 2 hidden.
  std::int64_t all = 0, normal = 0;
  for (const auto& c : r.classes) all += c.n_all;
  for (const auto& c : r.classes_normal) normal += c.n_all;
  EXPECT_EQ(all, 100);
  EXPECT_EQ(normal, 95);
  EXPECT_NE(r.report.find("injected anomalies left out"), std::string::npos);
}

TEST(MergeQuality, ClassSummariesByTypeWithMedianAndTruthFilter) {
  merge::Catalogue c;
  c.n = 6;
  c.targetid = {1, 2, 3, 4, 5, 6};
  c.spectype = {"GALAXY", "GALAXY", "GALAXY", "GALAXY", "STAR", "STAR"};
  c.split = {1, 1, 1, 0, 1, 0};
  c.score[0] = {1.0, 2.0, 90.0, 7.0, 3.0, 5.0};
  const auto all = merge::class_summaries(c);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].spectype, "GALAXY");
  EXPECT_EQ(all[0].n_all, 4);
  EXPECT_EQ(all[0].n_val, 3);
  EXPECT_DOUBLE_EQ(all[0].mean_mse_val, 31.0);
  EXPECT_DOUBLE_EQ(all[0].median_mse_val, 2.0);
  EXPECT_DOUBLE_EQ(all[0].mean_mse_all, 25.0);
  EXPECT_DOUBLE_EQ(all[1].median_mse_val, 3.0);
  // Row 3 is an injected anomaly, row 6 is missing from the truth table.
  const std::map<std::int64_t, std::string> truth{{1, "normal"}, {2, "normal"}, {3, "extreme_emitter"},
                                                  {4, "normal"}, {5, "normal"}};
  const auto normal = merge::class_summaries(c, &truth);
  ASSERT_EQ(normal.size(), 2u);
  EXPECT_EQ(normal[0].n_all, 3);
  EXPECT_EQ(normal[0].n_val, 2);
  EXPECT_DOUBLE_EQ(normal[0].mean_mse_val, 1.5);
  EXPECT_DOUBLE_EQ(normal[0].median_mse_val, 1.5);
  EXPECT_EQ(normal[1].n_all, 1);
}

TEST(MergeQuality, RocAucHandlesTies) {
  EXPECT_DOUBLE_EQ(merge::roc_auc({1, 2, 3, 4}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(merge::roc_auc({1, 1, 1, 1}, {0, 1, 0, 1}), 0.5);
  EXPECT_DOUBLE_EQ(merge::roc_auc({4, 3, 2, 1}, {0, 0, 1, 1}), 0.0);
  EXPECT_TRUE(std::isnan(merge::roc_auc({1, 2}, {1, 1})));
  // NaN scores are left out (they used to stall the tie loop for ever); ±inf are ordered.
  EXPECT_DOUBLE_EQ(merge::roc_auc({0.1, NAN, 0.3, 0.2, NAN, 0.9, 0.5}, {0, 1, 0, 0, 1, 1, 0}), 1.0);
  EXPECT_DOUBLE_EQ(merge::roc_auc({-INFINITY, NAN, INFINITY, 0.0}, {0, 0, 1, 1}), 1.0);
  EXPECT_TRUE(std::isnan(merge::roc_auc({NAN, NAN, 1.0}, {1, 1, 0})));
}

TEST(MergeQuality, TruthTableErrorsNameTheLine) {
  const fs::path d = fresh_dir("badtruth");
  std::ofstream(d / "t.csv") << "targetid,anomaly\n12,normal\nabc,normal\n";
  try {
    merge::read_truth_csv(d / "t.csv");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
  std::ofstream(d / "u.csv") << "id,kind\n";
  EXPECT_THROW(merge::read_truth_csv(d / "u.csv"), InputError);
}

// The three files replace the old ones together or not at all: a merge that fails (here, shards
// with no rows) leaves the previous catalogue as it was, and no staging file behind.
TEST(MergeCatalogue, AFailedMergeLeavesThePreviousCatalogue) {
  const std::int64_t N = 40;
  const fs::path good = fresh_dir("keep_good"), empty = fresh_dir("keep_empty"), out = fresh_dir("keep_out");
  write_shards(good, {make_shard(0, N, N)});
  const Config cfg = Config::defaults();
  const merge::MergeResult r = merge::run_merge(StageContext(cfg), {good, {}, out, {}});
  std::vector<std::uintmax_t> sizes;
  for (const auto& p : {r.hdf5, r.fits, r.csv}) sizes.push_back(fs::file_size(p));

  write_shards(empty, {make_shard(0, 0, 0)});
  const std::string msg = expect_input_error(cfg, {empty, {}, out, {}});
  EXPECT_NE(msg.find("hold no rows"), std::string::npos) << msg;
  std::size_t k = 0;
  for (const auto& p : {r.hdf5, r.fits, r.csv}) EXPECT_EQ(fs::file_size(p), sizes[k++]) << p;
  for (const auto& e : fs::directory_iterator(out))
    EXPECT_EQ(e.path().extension() == ".new" || e.path().extension() == ".tmp", false) << e.path();
}

// A truth table with a byte-order mark and Windows line ends reads as the plain one; one with
// no rows, or none of whose TARGETIDs is in the catalogue, is refused before anything is
// written.
TEST(MergeQuality, TruthTableWithABomAndOneThatMatchesNothing) {
  const std::int64_t N = 30;
  const fs::path d = fresh_dir("truth_bom");
  write_shards(d, {make_shard(0, N, N)});
  std::ofstream(d / "bom.csv") << "\xEF\xBB\xBFtargetid,anomaly\r\n1000,weird\r\n1001,normal\r\n";
  const auto t = merge::read_truth_csv(d / "bom.csv");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t.at(1000), "weird");
  EXPECT_EQ(t.at(1001), "normal");

  std::ofstream(d / "header.csv") << "targetid,anomaly\n";
  try {
    merge::read_truth_csv(d / "header.csv");
    ADD_FAILURE() << "a truth table without rows was read";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no rows"), std::string::npos) << e.what();
  }

  std::ofstream(d / "other.csv") << "targetid,anomaly\n5,weird\n6,normal\n";
  const std::string msg = expect_input_error(Config::defaults(), {d, {}, d / "out", d / "other.csv"});
  EXPECT_NE(msg.find("none of its 2 TARGETIDs is in the catalogue"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(d / "out" / "catalogue.h5"));
}
