// Model checkpoints in HDF5: /params, /adam_m, /adam_v, /input_offset (f32) and attributes
// for the shape, the input scale, the training state (epoch, step, seed, learning-rate
// schedule) and provenance (config hash and TOML, dataset hash, code version). Serial HDF5 on one rank; written to
// "<path>.tmp" and renamed so a crash never leaves a half-written checkpoint.
#include <hdf5.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "specvae/core/error.hpp"
#include "specvae/core/staged_file.hpp"
#include "specvae/core/version.hpp"
#include "specvae/model/vae.hpp"

namespace specvae::model {

namespace {

constexpr std::int64_t kCheckpointSchemaVersion = 1;

void write_floats(hid_t file, const char* name, const std::vector<float>& v) {
  const hsize_t dims[1] = {static_cast<hsize_t>(v.size())};
  const hid_t space = SPECVAE_HDF5_CHECK(H5Screate_simple(1, dims, nullptr));
  const hid_t ds = SPECVAE_HDF5_CHECK(H5Dcreate2(file, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!v.empty()) SPECVAE_HDF5_CHECK(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()));
  H5Dclose(ds);
  H5Sclose(space);
}

void write_attr(hid_t obj, const char* name, hid_t file_type, hid_t mem_type, const void* data, hsize_t n = 1) {
  const hid_t space = SPECVAE_HDF5_CHECK(H5Screate_simple(1, &n, nullptr));
  const hid_t a = SPECVAE_HDF5_CHECK(H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT));
  SPECVAE_HDF5_CHECK(H5Awrite(a, mem_type, data));
  H5Aclose(a);
  H5Sclose(space);
}
void write_int(hid_t obj, const char* name, std::int64_t v) { write_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v); }
void write_double(hid_t obj, const char* name, double v) { write_attr(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v); }
void write_ints(hid_t obj, const char* name, const std::vector<int>& v) {
  std::vector<std::int64_t> w(v.begin(), v.end());
  if (w.empty()) w.push_back(-1);  // HDF5 refuses empty attributes; -1 marks "no layers"
  write_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, w.data(), w.size());
}
void write_string(hid_t obj, const char* name, const std::string& s) {
  const hid_t type = SPECVAE_HDF5_CHECK(H5Tcopy(H5T_C_S1));
  SPECVAE_HDF5_CHECK(H5Tset_size(type, std::max<std::size_t>(1, s.size())));
  const hid_t space = SPECVAE_HDF5_CHECK(H5Screate(H5S_SCALAR));
  const hid_t a = SPECVAE_HDF5_CHECK(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
  const std::string padded = s.empty() ? std::string(1, '\0') : s;
  SPECVAE_HDF5_CHECK(H5Awrite(a, type, padded.data()));
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
}

struct Reader {
  hid_t file;
  std::string path;

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(fmt::format("checkpoint {}: {}", path, what));
  }
  hid_t open_attr(const char* name) const {
    if (H5Aexists(file, name) <= 0) fail(fmt::format("attribute '{}' is missing", name));
    return SPECVAE_HDF5_CHECK(H5Aopen(file, name, H5P_DEFAULT));
  }
  // The attribute's value class (integer, floating-point), or fail naming it.
  void expect_class(hid_t a, const char* name, bool integer_only) const {
    const hid_t type = H5Aget_type(a);
    const H5T_class_t c = H5Tget_class(type);
    H5Tclose(type);
    if (c == H5T_INTEGER || (!integer_only && c == H5T_FLOAT)) return;
    H5Aclose(a);
    fail(fmt::format("attribute '{}' is not {}", name, integer_only ? "an integer" : "a number"));
  }
  std::vector<std::int64_t> ints(const char* name) const {
    const hid_t a = open_attr(name);
    expect_class(a, name, true);
    const hid_t space = H5Aget_space(a);
    std::vector<std::int64_t> v(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)));
    SPECVAE_HDF5_CHECK(H5Aread(a, H5T_NATIVE_INT64, v.data()));
    H5Sclose(space);
    H5Aclose(a);
    return v;
  }
  std::int64_t integer(const char* name) const {
    auto v = ints(name);
    if (v.size() != 1) fail(fmt::format("attribute '{}' should hold one integer", name));
    return v[0];
  }
  double real(const char* name) const {
    const hid_t a = open_attr(name);
    expect_class(a, name, false);
    const hid_t space = H5Aget_space(a);
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    H5Sclose(space);
    if (n != 1) {
      H5Aclose(a);
      fail(fmt::format("attribute '{}' should hold one number", name));
    }
    double v = 0;
    SPECVAE_HDF5_CHECK(H5Aread(a, H5T_NATIVE_DOUBLE, &v));
    H5Aclose(a);
    return v;
  }
  std::string string(const char* name) const {
    const hid_t a = open_attr(name);
    const hid_t type = H5Aget_type(a);
    if (H5Tget_class(type) != H5T_STRING) fail(fmt::format("attribute '{}' is not a string", name));
    std::string s(H5Tget_size(type), '\0');
    SPECVAE_HDF5_CHECK(H5Aread(a, type, s.data()));
    H5Tclose(type);
    H5Aclose(a);
    s.resize(std::strlen(s.c_str()));
    return s;
  }
  std::vector<float> floats(const char* name, std::int64_t expected, bool optional) const {
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0) {
      if (optional) return {};
      fail(fmt::format("dataset '{}' is missing", name));
    }
    const hid_t ds = SPECVAE_HDF5_CHECK(H5Dopen2(file, name, H5P_DEFAULT));
    {
      const hid_t type = H5Dget_type(ds);
      const bool is_float = H5Tget_class(type) == H5T_FLOAT;
      H5Tclose(type);
      if (!is_float) {
        H5Dclose(ds);
        fail(fmt::format("dataset '{}' does not hold floating-point values", name));
      }
    }
    const hid_t space = H5Dget_space(ds);
    const std::int64_t n = H5Sget_simple_extent_npoints(space);
    if (n != expected) fail(fmt::format("dataset '{}' has {} values, the model needs {}", name, n, expected));
    std::vector<float> v(static_cast<std::size_t>(n));
    if (n) SPECVAE_HDF5_CHECK(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()));
    H5Sclose(space);
    H5Dclose(ds);
    return v;
  }
};

std::vector<int> to_layers(const std::vector<std::int64_t>& v) {
  std::vector<int> out;
  for (auto x : v)
    if (x > 0) out.push_back(static_cast<int>(x));
  return out;
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& c) {
  SPECVAE_CHECK(static_cast<std::int64_t>(c.params.size()) == c.shape.n_params(), "checkpoint: {} params for {}",
                c.params.size(), c.shape.describe());
  StagedFile staged(path);
  const std::filesystem::path& tmp = staged.temp();
  const hid_t file = H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0) throw InputError(fmt::format("cannot create checkpoint {}", tmp.string()));
  write_int(file, "schema_version", kCheckpointSchemaVersion);
  write_string(file, "kind", "specvae-vae-checkpoint");
  write_int(file, "n_input", c.shape.n_input);
  write_int(file, "latent_dim", c.shape.latent);
  write_ints(file, "encoder_layers", c.shape.encoder);
  write_ints(file, "decoder_layers", c.shape.decoder);
  write_double(file, "dropout", c.shape.dropout);
  write_string(file, "architecture", c.shape.describe());
  write_int(file, "epoch", c.state.epoch);
  write_int(file, "step", c.state.step);
  write_int(file, "seed", static_cast<std::int64_t>(c.state.seed));
  write_double(file, "learning_rate", c.state.learning_rate);
  write_double(file, "best_val_loss", c.state.best_val_loss);
  write_int(file, "best_epoch", c.state.best_epoch);
  write_int(file, "bad_epochs", c.state.bad_epochs);
  if (c.state.batch > 0) {  // stopped inside an epoch
    write_int(file, "batch_in_epoch", c.state.batch);
    write_attr(file, "partial_epoch", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, c.state.partial.data(), c.state.partial.size());
  }
  write_string(file, "config_hash", c.config_hash);
  write_string(file, "config", c.config_toml);
  write_string(file, "dataset_hash", c.dataset_hash);
  write_string(file, "code_version", c.code_version.empty() ? std::string(specvae::version_string()) : c.code_version);
  write_floats(file, "params", c.params);
  // Data scaling (model.standardize): /input_offset [n_input] and the input_scale attribute.
  write_double(file, "input_scale", c.scaling.scale);
  if (!c.scaling.offset.empty()) {
    SPECVAE_CHECK(static_cast<int>(c.scaling.offset.size()) == c.shape.n_input, "checkpoint: input offset size");
    write_floats(file, "input_offset", c.scaling.offset);
  }
  if (!c.adam_m.empty()) {
    SPECVAE_CHECK(c.adam_m.size() == c.params.size() && c.adam_v.size() == c.params.size(), "checkpoint: Adam state size");
    write_floats(file, "adam_m", c.adam_m);
    write_floats(file, "adam_v", c.adam_v);
  }
  if (H5Fclose(file) < 0) throw_write_error(path, errno != 0 ? errno : EIO, "finish writing it");
  staged.commit();
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw InputError(fmt::format("checkpoint {} does not exist", path.string()));
  hid_t file = -1;
  // A non-HDF5 file is a user error reported below, not an HDF5 stack dump.
  H5E_BEGIN_TRY { file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT); }
  H5E_END_TRY;
  if (file < 0) throw InputError(fmt::format("checkpoint {} is not a readable HDF5 file", path.string()));
  Checkpoint c;
  try {
    const Reader r{file, path.string()};
    if (r.string("kind") != "specvae-vae-checkpoint") r.fail("not a specvae VAE checkpoint (attribute 'kind')");
    if (r.integer("schema_version") != kCheckpointSchemaVersion)
      r.fail(fmt::format("schema_version {} (this build reads {})", r.integer("schema_version"), kCheckpointSchemaVersion));
    c.shape.n_input = static_cast<int>(r.integer("n_input"));
    c.shape.latent = static_cast<int>(r.integer("latent_dim"));
    c.shape.encoder = to_layers(r.ints("encoder_layers"));
    c.shape.decoder = to_layers(r.ints("decoder_layers"));
    c.shape.dropout = static_cast<float>(r.real("dropout"));
    if (c.shape.n_input <= 0 || c.shape.latent <= 0) r.fail("non-positive n_input or latent_dim");
    c.state.epoch = r.integer("epoch");
    c.state.step = r.integer("step");
    c.state.seed = static_cast<std::uint64_t>(r.integer("seed"));
    c.state.learning_rate = r.real("learning_rate");
    c.state.best_val_loss = r.real("best_val_loss");
    c.state.best_epoch = r.integer("best_epoch");
    c.state.bad_epochs = r.integer("bad_epochs");
    if (H5Aexists(file, "batch_in_epoch") > 0) {
      c.state.batch = r.integer("batch_in_epoch");
      const hid_t a = H5Aopen(file, "partial_epoch", H5P_DEFAULT);
      if (a < 0) r.fail("batch_in_epoch without partial_epoch");
      const hid_t space = H5Aget_space(a);
      const hssize_t n = H5Sget_simple_extent_npoints(space);
      H5Sclose(space);
      const bool shaped = n >= 4 && (n - 1) % 3 == 0;
      if (shaped) c.state.partial.resize(static_cast<std::size_t>(n));
      const bool read = shaped && H5Aread(a, H5T_NATIVE_DOUBLE, c.state.partial.data()) >= 0;
      H5Aclose(a);
      if (!read) r.fail("partial_epoch should hold 1 + 3 × ranks numbers");
      if (c.state.batch < 0) r.fail(fmt::format("implausible batch_in_epoch {}", c.state.batch));
    }
    if (c.state.epoch < 0 || c.state.step < 0 || c.state.best_epoch < 0 || c.state.best_epoch > c.state.epoch ||
        c.state.bad_epochs < 0)
      r.fail(fmt::format("implausible training state: epoch {}, step {}, best_epoch {}, bad_epochs {}", c.state.epoch,
                         c.state.step, c.state.best_epoch, c.state.bad_epochs));
    c.config_hash = r.string("config_hash");
    c.config_toml = r.string("config");
    c.dataset_hash = r.string("dataset_hash");
    c.code_version = r.string("code_version");
    const std::int64_t n = c.shape.n_params();
    c.params = r.floats("params", n, false);
    for (std::size_t i = 0; i < c.params.size(); ++i)
      if (!std::isfinite(c.params[i])) r.fail(fmt::format("params[{}] is {}: the weights are not finite", i, c.params[i]));
    c.scaling.offset = r.floats("input_offset", c.shape.n_input, true);
    // No offset and no scale: a model of raw inputs (scale 1). An offset needs its scale.
    if (H5Aexists(file, "input_scale") > 0) c.scaling.scale = static_cast<float>(r.real("input_scale"));
    else if (!c.scaling.offset.empty()) r.fail("has /input_offset but no input_scale attribute");
    if (!(c.scaling.scale > 0.0f) || !std::isfinite(c.scaling.scale))
      r.fail(fmt::format("input_scale {} is not a positive number", c.scaling.scale));
    c.adam_m = r.floats("adam_m", n, true);
    c.adam_v = r.floats("adam_v", n, true);
    if (c.adam_m.size() != c.adam_v.size()) r.fail("adam_m and adam_v must both be present or both absent");
  } catch (...) {
    H5Fclose(file);
    throw;
  }
  H5Fclose(file);
  return c;
}

}  // namespace specvae::model
