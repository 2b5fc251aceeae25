// Config: paper defaults, file overlay, --set overrides, and errors that name the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "specvae/core/config.hpp"
#include "specvae/core/error.hpp"

using namespace specvae;
using ::testing::HasSubstr;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}
}  // namespace

// configs/paper.toml is the paper's recipe key for key, and specvae's defaults differ from it
// only in the keys the README's "Training defaults" names (a default changed anywhere else
// without a word there fails here).
TEST(Config, PaperProfileIsThePapersRecipeAndDefaultsDifferOnlyWhereDocumented) {
  const Config paper = Config::from_file(std::string(SPECVAE_SOURCE_DIR) + "/configs/paper.toml");
  EXPECT_EQ(paper.get_int_list("model.encoder_layers"), (std::vector<std::int64_t>{800, 600, 500, 300}));
  EXPECT_EQ(paper.get_int_list("model.decoder_layers"), (std::vector<std::int64_t>{300, 500, 600, 800}));
  EXPECT_EQ(paper.get_int("model.latent_dim"), 10);
  EXPECT_DOUBLE_EQ(paper.get_double("model.dropout"), 0.2);
  EXPECT_FALSE(paper.get_bool("model.standardize"));
  EXPECT_DOUBLE_EQ(paper.get_double("train.learning_rate"), 1e-3);
  EXPECT_EQ(paper.get_string("train.schedule"), "plateau");
  EXPECT_DOUBLE_EQ(paper.get_double("train.plateau_factor"), 0.1);
  EXPECT_EQ(paper.get_int("train.plateau_patience"), 5);
  EXPECT_DOUBLE_EQ(paper.get_double("train.min_lr"), 0.0);
  EXPECT_EQ(paper.get_int("train.min_steps"), 0);
  EXPECT_EQ(paper.get_int("train.batch_size"), 512);
  EXPECT_EQ(paper.get_int("train.epochs"), 50);
  EXPECT_DOUBLE_EQ(paper.get_double("train.kl_weight"), 1.0);
  const Config d = Config::defaults();
  std::vector<std::string> differ;
  for (const auto& [key, value] : d.values())
    if (paper.values().at(key) != value) differ.push_back(key);
  EXPECT_THAT(differ, ::testing::UnorderedElementsAre("model.dropout", "model.standardize", "train.learning_rate",
                                                      "train.schedule", "train.min_lr", "train.min_steps"));
}

TEST(Config, DefaultsAreThePapersOutsideTraining) {
  Config c = Config::defaults();
  EXPECT_EQ(c.get_int_list("model.encoder_layers"), (std::vector<std::int64_t>{800, 600, 500, 300}));
  EXPECT_EQ(c.get_int_list("model.decoder_layers"), (std::vector<std::int64_t>{300, 500, 600, 800}));
  EXPECT_EQ(c.get_int("model.n_input"), 1000);
  EXPECT_EQ(c.get_int("model.latent_dim"), 10);
  EXPECT_DOUBLE_EQ(c.get_double("train.plateau_factor"), 0.1);
  EXPECT_EQ(c.get_int("train.plateau_patience"), 5);
  EXPECT_EQ(c.get_int("train.batch_size"), 512);
  EXPECT_EQ(c.get_int("train.epochs"), 50);
  EXPECT_EQ(c.get_int("ingest.n_bins"), 1000);
  EXPECT_DOUBLE_EQ(c.get_double("ingest.wave_min"), 3600.0);
  EXPECT_DOUBLE_EQ(c.get_double("ingest.wave_max"), 7556.0);
  EXPECT_DOUBLE_EQ(c.get_double("ingest.z_min"), 0.0);
  EXPECT_DOUBLE_EQ(c.get_double("ingest.z_max"), 0.3);
  EXPECT_DOUBLE_EQ(c.get_double("ingest.snr_min"), 5.0);
  EXPECT_EQ(c.get_int("score.lof_k"), 20);
  EXPECT_DOUBLE_EQ(c.get_double("merge.top_fraction"), 0.01);
}

TEST(Config, SetOverridesAndTypes) {
  Config c = Config::defaults();
  c.set("train.epochs=7");
  c.set("train.learning_rate = 5e-4");
  c.set("run.out_dir=/tmp/x y");
  c.set("model.encoder_layers=[64, 32]");
  c.set("ingest.spectypes=[\"GALAXY\"]");
  c.set("runtime.log_all_ranks=true");
  c.set("train.learning_rate=1");  // an integer is a valid number
  EXPECT_EQ(c.get_int("train.epochs"), 7);
  EXPECT_DOUBLE_EQ(c.get_double("train.learning_rate"), 1.0);
  EXPECT_EQ(c.get_string("run.out_dir"), "/tmp/x y");
  EXPECT_EQ(c.get_int_list("model.encoder_layers"), (std::vector<std::int64_t>{64, 32}));
  EXPECT_EQ(c.get_string_list("ingest.spectypes"), (std::vector<std::string>{"GALAXY"}));
  EXPECT_TRUE(c.get_bool("runtime.log_all_ranks"));
}

TEST(Config, ErrorsNameTheKeyAndExpectation) {
  Config c = Config::defaults();
  std::string e = error_of([&] { c.set("train.epochs=abc"); });
  EXPECT_THAT(e, HasSubstr("train.epochs"));
  EXPECT_THAT(e, HasSubstr("integer"));
  EXPECT_THAT(error_of([&] { c.set("train.epochs=0"); }), HasSubstr("train.epochs"));
  EXPECT_THAT(error_of([&] { c.set("train.epochs=2.5"); }), HasSubstr("integer"));
  EXPECT_THAT(error_of([&] { c.set("model.dropout=1.5"); }), HasSubstr("model.dropout"));
  EXPECT_THAT(error_of([&] { c.set("train.backend=tpu"); }), HasSubstr("one of: auto, cpu, cuda"));
  EXPECT_THAT(error_of([&] { c.set("train.epoch=3"); }), HasSubstr("did you mean 'train.epochs'"));
  EXPECT_THAT(error_of([&] { c.set("noequals"); }), HasSubstr("section.key=value"));
  EXPECT_THAT(error_of([&] { c.set("model.encoder_layers=[1, \"a\"]"); }), HasSubstr("model.encoder_layers"));
  // A failed --set leaves the value untouched.
  EXPECT_EQ(c.get_int("train.epochs"), 50);
}

TEST(Config, FileOverlayAndErrors) {
  Config c = Config::from_toml("[train]\nepochs = 3\n[simulate.anomaly]\nsky_dip = 0.5\n", "test.toml");
  EXPECT_EQ(c.get_int("train.epochs"), 3);
  EXPECT_DOUBLE_EQ(c.get_double("simulate.anomaly.sky_dip"), 0.5);
  EXPECT_THAT(error_of([] { Config::from_toml("[train]\nepocs = 3\n", "a.toml"); }),
              HasSubstr("a.toml: unknown configuration key 'train.epocs'"));
  EXPECT_THAT(error_of([] { Config::from_toml("[train]\nepochs = \"x\"\n", "b.toml"); }),
              HasSubstr("b.toml: 'train.epochs' must be an integer"));
  EXPECT_THAT(error_of([] { Config::from_toml("[train\n", "c.toml"); }), HasSubstr("c.toml:1"));
  EXPECT_THAT(error_of([] { Config::from_file("/nonexistent/specvae.toml"); }), HasSubstr("cannot open"));
}

TEST(Config, CanonicalTomlRoundTripsAndHashIsStable) {
  Config a = Config::defaults();
  a.set("train.epochs=9");
  a.set("ingest.wave_min=3000");
  Config b = Config::from_toml(a.to_toml(), "roundtrip");
  EXPECT_EQ(a.to_toml(), b.to_toml());
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_EQ(a.hash().size(), 16u);
  EXPECT_NE(a.hash(), Config::defaults().hash());
  EXPECT_THAT(a.to_json(), HasSubstr("\"epochs\": 9"));
}

TEST(Config, EveryDefaultSatisfiesItsOwnSchema) {
  // Re-reading the defaults through the validating parser catches a default out of range.
  Config d = Config::defaults();
  EXPECT_NO_THROW(Config::from_toml(d.to_toml(), "defaults"));
}

TEST(Hash, Fnv1aKnownValues) {
  EXPECT_EQ(fnv1a_hex(""), "cbf29ce484222325");
  EXPECT_EQ(fnv1a_hex("a"), "af63dc4c8601ec8c");
}

TEST(Config, ExecutionKeysAreHowNotWhat) {
  // How a computation runs: a finished or killed stage carries over a change of these.
  for (const char* k : {"train.threads", "train.backend", "train.gemm", "train.device_shard", "train.cuda_epilogue",
                        "runtime.log_level", "runtime.cuda_debug_sync"})
    EXPECT_TRUE(is_execution_key(k)) << k;
  // What it computes (TF32 changes the arithmetic, not just the rounding order).
  for (const char* k : {"train.tf32", "train.epochs", "train.seed", "train.learning_rate", "model.dropout", "score.knn",
                        "score.batch_size", "ingest.snr_min"})
    EXPECT_FALSE(is_execution_key(k)) << k;
  // Every execution key is a real key of the schema.
  const Config c = Config::defaults();
  int n = 0;
  for (const auto& [key, value] : c.values()) n += is_execution_key(key);
  EXPECT_GE(n, 7);
}

// Every shipped configuration loads and means what its comments say: the default job is the
// defaults, and the DR1 preset reads a real survey (no simulate stage) with DESI's own cuts.
TEST(Config, ShippedConfigsLoad) {
  const std::string dir = std::string(SPECVAE_SOURCE_DIR) + "/configs/";
  const Config def = Config::from_file(dir + "default.toml");
  EXPECT_EQ(def.hash(), Config::defaults().hash()) << "configs/default.toml is not the defaults";
  const Config bgs = Config::from_file(dir + "desi-dr1-bgs-bright.toml");
  ASSERT_EQ(bgs.get_string_list("run.input").size(), 1u);
  EXPECT_THAT(bgs.get_string_list("run.input")[0], ::testing::HasSubstr("dr1/spectro/redux/iron/healpix/main/bright"));
  EXPECT_TRUE(bgs.get_bool("ingest.require_zwarn_zero"));
  EXPECT_EQ(bgs.get_string("ingest.target_column"), "BGS_TARGET");
  EXPECT_EQ(bgs.get_int("ingest.target_mask"), 2);
  EXPECT_NE(bgs.get_int("ingest.fiberstatus_mask"), 0);
  EXPECT_EQ(bgs.get_string("ingest.dedup"), "targetid");
  EXPECT_EQ(bgs.get_string_list("ingest.objtypes"), (std::vector<std::string>{"TGT"}));
}
