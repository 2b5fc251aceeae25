// Checkpoints round-trip exactly (weights, Adam state, schedule, provenance), are written
// atomically, and a damaged or foreign file is refused with a message naming it.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <hdf5.h>

#include "specvae/core/error.hpp"
#include "specvae/model/vae.hpp"

using namespace specvae;
using namespace specvae::model;

namespace {
std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("specvae_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}
}  // namespace

TEST(Checkpoint, RoundTripsEverything) {
  const auto dir = temp_dir("ckpt");
  Checkpoint c;
  c.shape = VaeShape::from_config(Config::defaults());
  EXPECT_EQ(c.shape.describe(), "1000-800-600-500-300-(10)-300-500-600-800-1000");
  c.params = initial_parameters(c.shape, 7);
  c.adam_m.assign(c.params.size(), 0.25f);
  c.adam_v = c.params;
  c.state.epoch = 3;
  c.state.step = 1234;
  c.state.seed = 99;
  c.state.learning_rate = 1e-4;
  c.state.best_val_loss = 567.25;
  c.state.best_epoch = 2;
  c.state.bad_epochs = 1;
  c.config_hash = "0123456789abcdef";
  c.config_toml = "[train]\nepochs = 3\n";
  c.dataset_hash = "feedface";
  save_checkpoint(dir / "c.h5", c);
  EXPECT_FALSE(std::filesystem::exists(dir / "c.h5.tmp"));
  const Checkpoint r = load_checkpoint(dir / "c.h5");
  EXPECT_EQ(r.shape, c.shape);
  EXPECT_EQ(r.params, c.params);
  EXPECT_EQ(r.adam_m, c.adam_m);
  EXPECT_EQ(r.adam_v, c.adam_v);
  EXPECT_EQ(r.state.epoch, 3);
  EXPECT_EQ(r.state.step, 1234);
  EXPECT_EQ(r.state.seed, 99u);
  EXPECT_EQ(r.state.learning_rate, 1e-4);
  EXPECT_EQ(r.state.best_val_loss, 567.25);
  EXPECT_EQ(r.state.best_epoch, 2);
  EXPECT_EQ(r.state.bad_epochs, 1);
  EXPECT_EQ(r.config_hash, c.config_hash);
  EXPECT_EQ(r.config_toml, c.config_toml);
  EXPECT_EQ(r.dataset_hash, "feedface");
  EXPECT_FALSE(r.code_version.empty());
  // A Vae built from it encodes.
  Vae vae = Vae::from_checkpoint(dir / "c.h5", std::shared_ptr<Backend>(make_backend("cpu", 1)));
  std::vector<float> x(2 * 1000, 0.01f), mu(20), lv(20);
  vae.encode(x, 2, mu, lv);
  EXPECT_EQ(vae.parameters(), c.params);
  std::filesystem::remove_all(dir);
}

// Attributes a hand-edited file can get wrong, each refused with the file named: an input
// offset without its scale (the model would see inputs scaled by 1), a negative epoch.
TEST(Checkpoint, RefusesAnInconsistentTrainingState) {
  const auto dir = temp_dir("ckpt_state");
  Checkpoint c;
  c.shape = VaeShape::from_config(Config::defaults());
  c.params = initial_parameters(c.shape, 7);
  c.scaling.offset.assign(static_cast<std::size_t>(c.shape.n_input), 0.03f);
  c.scaling.scale = 0.007f;
  c.state.epoch = 2;
  save_checkpoint(dir / "c.h5", c);
  EXPECT_EQ(load_checkpoint(dir / "c.h5").scaling.scale, 0.007f);
  const auto edit = [&](const char* attr, const std::int64_t* value) {
    const hid_t f = H5Fopen((dir / "c.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    if (value) {
      const hid_t a = H5Aopen(f, attr, H5P_DEFAULT);
      H5Awrite(a, H5T_NATIVE_INT64, value);
      H5Aclose(a);
    } else {
      H5Adelete(f, attr);
    }
    H5Fclose(f);
  };
  const auto message = [&] {
    try {
      load_checkpoint(dir / "c.h5");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  edit("input_scale", nullptr);
  std::string msg = message();
  EXPECT_NE(msg.find("c.h5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no input_scale attribute"), std::string::npos) << msg;
  save_checkpoint(dir / "c.h5", c);
  const std::int64_t minus_five = -5;
  edit("epoch", &minus_five);
  msg = message();
  EXPECT_NE(msg.find("implausible training state: epoch -5"), std::string::npos) << msg;
  // A string where an integer belongs (HDF5 would fail to convert it, with its error stack).
  save_checkpoint(dir / "c.h5", c);
  {
    const hid_t f = H5Fopen((dir / "c.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Adelete(f, "latent_dim");
    const hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 4);
    const hid_t sp = H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(f, "latent_dim", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, "ten");
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    H5Fclose(f);
  }
  msg = message();
  EXPECT_NE(msg.find("attribute 'latent_dim' is not an integer"), std::string::npos) << msg;
  // Weights that are not finite (a diverged run saved by another tool) are not a checkpoint to
  // resume or score from.
  Checkpoint bad = c;
  bad.params[17] = NAN;
  save_checkpoint(dir / "c.h5", bad);
  msg = message();
  EXPECT_NE(msg.find("params[17] is nan"), std::string::npos) << msg;
  std::filesystem::remove_all(dir);
}

TEST(Checkpoint, RefusesMissingAndForeignFiles) {
  const auto dir = temp_dir("ckpt_bad");
  EXPECT_THROW(load_checkpoint(dir / "none.h5"), InputError);
  {
    std::ofstream(dir / "junk.h5") << "not hdf5";
  }
  try {
    load_checkpoint(dir / "junk.h5");
    FAIL() << "junk accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("junk.h5"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}
