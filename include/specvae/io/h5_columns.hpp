// Whole-column HDF5 I/O for the small per-row tables that one process writes (score shards,
// the catalogue): 1-d or 2-d numeric columns and fixed-length string columns, contiguous,
// written and read in one call with the serial driver.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <hdf5.h>

#include "specvae/io/row_columns.hpp"

namespace specvae::h5col {

// Native HDF5 type of a C++ scalar.
template <typename T> hid_t native();
template <> inline hid_t native<float>() { return H5T_NATIVE_FLOAT; }
template <> inline hid_t native<double>() { return H5T_NATIVE_DOUBLE; }
template <> inline hid_t native<std::int64_t>() { return H5T_NATIVE_INT64; }
template <> inline hid_t native<std::uint8_t>() { return H5T_NATIVE_UINT8; }
template <> inline hid_t native<std::int32_t>() { return H5T_NATIVE_INT32; }

// rows × cols (cols = 0: a 1-d column of `rows`).
void write_raw(hid_t file, const std::string& name, hid_t type, std::int64_t rows, int cols, const void* data);
template <typename T>
void write(hid_t file, const std::string& name, const std::vector<T>& data, int cols = 0) {
  const std::int64_t rows = cols > 0 ? static_cast<std::int64_t>(data.size()) / cols : static_cast<std::int64_t>(data.size());
  write_raw(file, name, native<T>(), rows, cols, data.data());
}
// A value longer than `width` is an error (never cut).
void write_strings(hid_t file, const std::string& name, const std::vector<std::string>& data, std::size_t width);

// Reads a whole column; its row count (and columns) must be as expected, else InputError
// naming the file and dataset.
void read_raw(hid_t file, const std::string& name, hid_t type, std::int64_t rows, int cols, void* data,
              const std::filesystem::path& path);
template <typename T>
std::vector<T> read(hid_t file, const std::string& name, std::int64_t rows, int cols, const std::filesystem::path& path) {
  std::vector<T> out(static_cast<std::size_t>(rows) * (cols > 0 ? cols : 1));
  read_raw(file, name, native<T>(), rows, cols, out.data(), path);
  return out;
}
std::vector<std::string> read_strings(hid_t file, const std::string& name, std::int64_t rows,
                                      const std::filesystem::path& path);

// The given rows (each in [0, rows)) of a column of `rows` × cols, in the order given.
void read_rows_raw(hid_t file, const std::string& name, hid_t type, std::int64_t rows, int cols,
                   const std::vector<std::int64_t>& which, void* data, const std::filesystem::path& path);
template <typename T>
std::vector<T> read_rows(hid_t file, const std::string& name, std::int64_t rows, int cols,
                         const std::vector<std::int64_t>& which, const std::filesystem::path& path) {
  std::vector<T> out(which.size() * static_cast<std::size_t>(cols > 0 ? cols : 1));
  read_rows_raw(file, name, native<T>(), rows, cols, which, out.data(), path);
  return out;
}
std::vector<std::string> read_strings_rows(hid_t file, const std::string& name, std::int64_t rows,
                                           const std::vector<std::int64_t>& which, const std::filesystem::path& path);

// A string column as one byte a row: codes[i] indexes `names`, the distinct values in sorted
// order (at most 255 of them, else InputError). Read in blocks, never as a string per row.
struct StringCodes {
  std::vector<std::uint8_t> codes;
  std::vector<std::string> names;
};
StringCodes read_string_codes(hid_t file, const std::string& name, std::int64_t rows, const std::filesystem::path& path);

// Every per-row column (io/row_columns.hpp), each with its description and unit attributes.
void write_row_columns(hid_t file, const RowColumns& columns);
// Every per-row column of `rows` rows into `out`; `want(spec)` (when given) picks which, the
// others are left empty. InputError naming the file and column when one is missing or short.
void read_row_columns(hid_t file, std::int64_t rows, const std::filesystem::path& path, RowColumns& out,
                      bool (*want)(const ColumnSpec&) = nullptr);
// The given rows of every per-row column, in the order given.
void read_row_columns_at(hid_t file, std::int64_t rows, const std::vector<std::int64_t>& which,
                         const std::filesystem::path& path, RowColumns& out);

}  // namespace specvae::h5col
