// Whole-column HDF5 reads and writes for score shards and the catalogue.
#include "specvae/io/h5_columns.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <type_traits>
#include <utility>

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
  for (std::size_t i = 0; i < data.size(); ++i) {
    SPECVAE_CHECK(data[i].size() <= width, "column {} row {}: '{}' is longer than {} bytes", name, i, data[i], width);
    std::memcpy(&buf[i * width], data[i].data(), data[i].size());
  }
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
  h5::check_type_class(ds, type);
  if (rows > 0) SPECVAE_HDF5_CHECK(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
}

namespace {

// The memory type of a fixed-length string column, and its width.
std::pair<h5::Handle, std::size_t> string_type(hid_t ds, const std::string& name, const std::filesystem::path& path) {
  h5::Handle ftype(SPECVAE_HDF5_CHECK(H5Dget_type(ds)));
  if (H5Tget_class(ftype) != H5T_STRING || H5Tis_variable_str(ftype) > 0)
    throw InputError(fmt::format("{}: dataset /{} is not a fixed-length string column", path.string(), name));
  const std::size_t width = H5Tget_size(ftype);
  h5::Handle type(SPECVAE_HDF5_CHECK(H5Tcopy(H5T_C_S1)));
  SPECVAE_HDF5_CHECK(H5Tset_size(type, width));
  SPECVAE_HDF5_CHECK(H5Tset_strpad(type, H5T_STR_NULLPAD));
  return {std::move(type), width};
}

// Selects rows `which` (all columns) of a rows × cols dataset in `space`; InputError for a
// row out of range.
void select_rows(hid_t space, std::int64_t rows, int cols, const std::vector<std::int64_t>& which,
                 const std::string& name, const std::filesystem::path& path) {
  const int rank = cols > 0 ? 2 : 1;
  const auto width = static_cast<std::size_t>(cols > 0 ? cols : 1);
  std::vector<hsize_t> coords;
  coords.reserve(which.size() * width * rank);
  for (const std::int64_t r : which) {
    if (r < 0 || r >= rows)
      throw InputError(fmt::format("{}: row {} of dataset /{} asked for, it has {} rows", path.string(), r, name, rows));
    for (std::size_t c = 0; c < width; ++c) {
      coords.push_back(static_cast<hsize_t>(r));
      if (rank == 2) coords.push_back(c);
    }
  }
  SPECVAE_HDF5_CHECK(H5Sselect_elements(space, H5S_SELECT_SET, which.size() * width, coords.data()));
}

}  // namespace

std::vector<std::string> read_strings(hid_t file, const std::string& name, std::int64_t rows,
                                      const std::filesystem::path& path) {
  h5::Handle ds = open_checked(file, name, rows, 0, path);
  const auto [type, width] = string_type(ds, name, path);
  std::vector<char> buf(static_cast<std::size_t>(rows) * width);
  if (rows > 0) SPECVAE_HDF5_CHECK(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()));
  std::vector<std::string> out(rows);
  for (std::int64_t i = 0; i < rows; ++i) {
    const char* p = &buf[i * width];
    out[i] = std::string(p, strnlen(p, width));
  }
  return out;
}

void read_rows_raw(hid_t file, const std::string& name, hid_t type, std::int64_t rows, int cols,
                   const std::vector<std::int64_t>& which, void* data, const std::filesystem::path& path) {
  h5::Handle ds = open_checked(file, name, rows, cols, path);
  h5::check_type_class(ds, type);
  if (which.empty()) return;
  h5::Handle space(SPECVAE_HDF5_CHECK(H5Dget_space(ds)));
  select_rows(space, rows, cols, which, name, path);
  const hsize_t n = which.size() * static_cast<std::size_t>(cols > 0 ? cols : 1);
  h5::Handle mem(SPECVAE_HDF5_CHECK(H5Screate_simple(1, &n, nullptr)));
  SPECVAE_HDF5_CHECK(H5Dread(ds, type, mem, space, H5P_DEFAULT, data));
}

std::vector<std::string> read_strings_rows(hid_t file, const std::string& name, std::int64_t rows,
                                           const std::vector<std::int64_t>& which, const std::filesystem::path& path) {
  h5::Handle ds = open_checked(file, name, rows, 0, path);
  const auto [type, width] = string_type(ds, name, path);
  std::vector<std::string> out(which.size());
  if (which.empty()) return out;
  h5::Handle space(SPECVAE_HDF5_CHECK(H5Dget_space(ds)));
  select_rows(space, rows, 0, which, name, path);
  const hsize_t n = which.size();
  h5::Handle mem(SPECVAE_HDF5_CHECK(H5Screate_simple(1, &n, nullptr)));
  std::vector<char> buf(which.size() * width);
  SPECVAE_HDF5_CHECK(H5Dread(ds, type, mem, space, H5P_DEFAULT, buf.data()));
  for (std::size_t i = 0; i < which.size(); ++i) out[i] = std::string(&buf[i * width], strnlen(&buf[i * width], width));
  return out;
}

StringCodes read_string_codes(hid_t file, const std::string& name, std::int64_t rows, const std::filesystem::path& path) {
  h5::Handle ds = open_checked(file, name, rows, 0, path);
  const auto [type, width] = string_type(ds, name, path);
  h5::Handle space(SPECVAE_HDF5_CHECK(H5Dget_space(ds)));
  constexpr std::int64_t kBlock = std::int64_t{1} << 20;
  std::vector<char> buf(static_cast<std::size_t>(std::min(rows, kBlock)) * width);
  std::map<std::string, std::uint8_t> seen;  // value → code in order of first appearance
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(rows));
  for (std::int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const hsize_t start = static_cast<hsize_t>(r0), count = static_cast<hsize_t>(std::min(kBlock, rows - r0));
    SPECVAE_HDF5_CHECK(H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nullptr, &count, nullptr));
    h5::Handle mem(SPECVAE_HDF5_CHECK(H5Screate_simple(1, &count, nullptr)));
    SPECVAE_HDF5_CHECK(H5Dread(ds, type, mem, space, H5P_DEFAULT, buf.data()));
    for (hsize_t i = 0; i < count; ++i) {
      const char* p = &buf[i * width];
      const std::string v(p, strnlen(p, width));
      auto it = seen.find(v);
      if (it == seen.end()) {
        if (seen.size() == 255)
          throw InputError(fmt::format("{}: dataset /{} has more than 255 distinct values", path.string(), name));
        it = seen.emplace(v, static_cast<std::uint8_t>(seen.size())).first;
      }
      codes[static_cast<std::size_t>(r0) + i] = it->second;
    }
  }
  // Renumber so that the codes follow the sorted names (the map's order).
  StringCodes out;
  std::vector<std::uint8_t> renumber(seen.size());
  for (const auto& [v, code] : seen) {
    renumber[code] = static_cast<std::uint8_t>(out.names.size());
    out.names.push_back(v);
  }
  for (std::uint8_t& c : codes) c = renumber[c];
  out.codes = std::move(codes);
  return out;
}

namespace {
template <typename V> constexpr bool is_strings = std::is_same_v<std::decay_t<V>, std::vector<std::string>>;

void describe(hid_t file, const ColumnSpec& spec) {
  h5::Handle ds = h5::open_dataset(file, spec.name, "");
  h5::write_attr(ds, "description", std::string(spec.description));
  if (*spec.unit) h5::write_attr(ds, "unit", std::string(spec.unit));
}
}  // namespace

void write_row_columns(hid_t file, const RowColumns& columns) {
  columns.for_each_column([&](const ColumnSpec& spec, const auto& col) {
    if constexpr (is_strings<decltype(col)>) write_strings(file, spec.name, col, kRowStringWidth);
    else write(file, spec.name, col);
    describe(file, spec);
  });
}

void read_row_columns(hid_t file, std::int64_t rows, const std::filesystem::path& path, RowColumns& out,
                      bool (*want)(const ColumnSpec&)) {
  out.for_each_column([&](const ColumnSpec& spec, auto& col) {
    if (want && !want(spec)) return;
    using V = std::decay_t<decltype(col)>;
    if constexpr (is_strings<V>) col = read_strings(file, spec.name, rows, path);
    else col = read<typename V::value_type>(file, spec.name, rows, 0, path);
  });
}

void read_row_columns_at(hid_t file, std::int64_t rows, const std::vector<std::int64_t>& which,
                         const std::filesystem::path& path, RowColumns& out) {
  out.for_each_column([&](const ColumnSpec& spec, auto& col) {
    using V = std::decay_t<decltype(col)>;
    if constexpr (is_strings<V>) col = read_strings_rows(file, spec.name, rows, which, path);
    else col = read_rows<typename V::value_type>(file, spec.name, rows, 0, which, path);
  });
}

}  // namespace specvae::h5col
