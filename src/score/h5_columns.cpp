// Whole-column HDF5 reads and writes for score shards and the catalogue.
#include "specvae/score/h5_columns.hpp"

#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "specvae/core/error.hpp"
#include "specvae/io/hdf5.hpp"

namespace specvae::h5col {

void write_raw(hid_t file, const std::string& name, hid_t type, std::int64_t rows, int cols, const void* data) {
  const hsize_t dims[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)};
  h5::Handle space(SPECVAE_HDF5_CHECK(H5Screate_simple(cols > 0 ? 2 : 1, dims, nullptr)));
  h5::Handle ds(SPECVAE_HDF5_CHECK(H5Dcreate2(file, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
  if (rows > 0) SPECVAE_HDF5_CHECK(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
}

void write_strings(hid_t file, const std::string& name, const std::vector<std::string>& data, std::size_t width) {
  h5::Handle type(SPECVAE_HDF5_CHECK(H5Tcopy(H5T_C_S1)));
  SPECVAE_HDF5_CHECK(H5Tset_size(type, width));
  SPECVAE_HDF5_CHECK(H5Tset_strpad(type, H5T_STR_NULLPAD));
  std::vector<char> buf(data.size() * width, '\0');
  for (std::size_t i = 0; i < data.size(); ++i)
    std::memcpy(&buf[i * width], data[i].data(), std::min(width, data[i].size()));
  write_raw(file, name, type, static_cast<std::int64_t>(data.size()), 0, buf.data());
}

namespace {

h5::Handle open_checked(hid_t file, const std::string& name, std::int64_t rows, int cols,
                        const std::filesystem::path& path) {
  h5::Handle ds = h5::open_dataset(file, name, path);
  const std::vector<hsize_t> d = h5::dims(ds);
  const bool ok = d.size() == (cols > 0 ? 2u : 1u) && d[0] == static_cast<hsize_t>(rows) &&
                  (cols == 0 || d[1] == static_cast<hsize_t>(cols));
  if (!ok)
    throw InputError(fmt::format("{}: dataset /{} has shape [{}], expected [{}{}]", path.string(), name,
                                 fmt::join(d, ","), rows, cols > 0 ? fmt::format(",{}", cols) : ""));
  return ds;
}

}  // namespace

void read_raw(hid_t file, const std::string& name, hid_t type, std::int64_t rows, int cols, void* data,
              const std::filesystem::path& path) {
  h5::Handle ds = open_checked(file, name, rows, cols, path);
  if (rows > 0) SPECVAE_HDF5_CHECK(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
}

std::vector<std::string> read_strings(hid_t file, const std::string& name, std::int64_t rows,
                                      const std::filesystem::path& path) {
  h5::Handle ds = open_checked(file, name, rows, 0, path);
  h5::Handle ftype(SPECVAE_HDF5_CHECK(H5Dget_type(ds)));
  if (H5Tget_class(ftype) != H5T_STRING || H5Tis_variable_str(ftype) > 0)
    throw InputError(fmt::format("{}: dataset /{} is not a fixed-length string column", path.string(), name));
  const std::size_t width = H5Tget_size(ftype);
  h5::Handle type(SPECVAE_HDF5_CHECK(H5Tcopy(H5T_C_S1)));
  SPECVAE_HDF5_CHECK(H5Tset_size(type, width));
  SPECVAE_HDF5_CHECK(H5Tset_strpad(type, H5T_STR_NULLPAD));
  std::vector<char> buf(static_cast<std::size_t>(rows) * width);
  if (rows > 0) SPECVAE_HDF5_CHECK(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()));
  std::vector<std::string> out(rows);
  for (std::int64_t i = 0; i < rows; ++i) {
    const char* p = &buf[i * width];
    out[i] = std::string(p, strnlen(p, width));
  }
  return out;
}

}  // namespace specvae::h5col
