// Small RAII and attribute helpers over the HDF5 C API, and the property lists that make
// parallel HDF5 collective (MPI-IO file access, collective metadata, collective transfers).
// Without MPI running (unit tests, serial tools) the same calls fall back to the serial driver.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <hdf5.h>
#include <mpi.h>

namespace specvae::h5 {

// Owns one hid_t and closes it with the right H5?close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  // Gives up ownership without closing.
  void release() { id_ = -1; }
  operator hid_t() const { return id_; }
  void reset();

 private:
  hid_t id_ = -1;
};

// Whether collective (MPI-IO) access is used for this communicator: MPI is initialised and
// not finalised, and comm is not MPI_COMM_NULL.
bool use_mpio(MPI_Comm comm);

// File access list: MPI-IO with collective metadata reads and writes, or the serial default.
// Two environment variables tune it for a parallel file system (a job script sets them):
//   SPECVAE_MPIIO_HINTS="key=value;key=value"  MPI-IO hints for every file opened with MPI-IO,
//       e.g. striping_factor=32;striping_unit=16777216;romio_cb_write=enable (unknown keys are
//       ignored by MPI; a malformed item is an InputError);
//   SPECVAE_H5_ALIGNMENT=BYTES  start every object of at least BYTES/2 on a multiple of BYTES
//       (H5Pset_alignment), e.g. the Lustre stripe size, so no rank's rows straddle two stripes
//       more than they must.
Handle file_access(MPI_Comm comm);
// What SPECVAE_MPIIO_HINTS holds, parsed (empty when unset).
std::vector<std::pair<std::string, std::string>> mpiio_hints();
// Transfer list: collective MPI-IO transfers, or the default.
Handle transfer(MPI_Comm comm);

// Silences HDF5's own printing of its error stack and makes a failed HDF5 call read it instead:
// a full disk, a quota or an I/O error becomes one InputError naming the file. Called by
// create_file and open_file; the CLI calls it at start.
void install_error_handler();

// Closes a file that was written and says so when the close (which flushes) fails: an
// InputError naming `path`. A Handle's destructor closes without looking.
void close_file(Handle& file, const std::filesystem::path& path);

// Creates (truncating) or opens a file; errors name the path.
Handle create_file(MPI_Comm comm, const std::filesystem::path& path);
Handle open_file(MPI_Comm comm, const std::filesystem::path& path, bool writable = false);
Handle open_dataset(hid_t file, const std::string& name, const std::filesystem::path& path_for_errors);

// Attributes on any object (attribute writes are collective: every rank passes the same value).
void write_attr(hid_t obj, const std::string& name, const std::string& value);
void write_attr(hid_t obj, const std::string& name, std::int64_t value);
void write_attr(hid_t obj, const std::string& name, double value);
void write_attr(hid_t obj, const std::string& name, const std::vector<double>& value);
bool has_attr(hid_t obj, const std::string& name);
std::string read_attr_string(hid_t obj, const std::string& name);
std::int64_t read_attr_int(hid_t obj, const std::string& name);
double read_attr_double(hid_t obj, const std::string& name);
// Every scalar string and integer attribute of obj.
void read_all_attrs(hid_t obj, std::map<std::string, std::string>& strings, std::map<std::string, std::int64_t>& ints);

// Dimensions of a dataset.
std::vector<hsize_t> dims(hid_t dataset);

// Collective row-block I/O on a 1-d or 2-d dataset: rows [begin, begin+count) × all columns.
// count may be 0 (the rank still takes part). mem_type is e.g. H5T_NATIVE_FLOAT.
void write_rows(MPI_Comm comm, hid_t dataset, hid_t mem_type, std::int64_t begin, std::int64_t count, const void* data);
// Checks the class of the values first (integer, floating-point, string): HDF5 converts within a
// class, and a dataset of another class is an InputError naming the file and dataset.
void read_rows(MPI_Comm comm, hid_t dataset, hid_t mem_type, std::int64_t begin, std::int64_t count, void* data);
void check_type_class(hid_t dataset, hid_t mem_type);

// How HDF5 says the last transfer on `dxpl` went (for tests that I/O really was collective).
struct CollectiveReport {
  bool mpio = false;            // MPI-IO driver in use
  bool collective = false;      // H5Pget_mpio_actual_io_mode != H5D_MPIO_NO_COLLECTIVE
  std::uint32_t no_collective_cause_local = 0;
  std::uint32_t no_collective_cause_global = 0;
};
// Row I/O that also reports what HDF5 did.
CollectiveReport write_rows_reported(MPI_Comm comm, hid_t dataset, hid_t mem_type, std::int64_t begin,
                                     std::int64_t count, const void* data);

// A file written collectively goes to a temporary name of its own, which rank 0 reserves
// (core/staged_file.hpp) and every rank of comm receives, and is renamed onto path on commit
// (rank 0, after a barrier). An exception before commit leaves any existing file at path
// untouched; the writer removes the temporary file.
std::filesystem::path temp_path(MPI_Comm comm, const std::filesystem::path& path);
void commit_rename(MPI_Comm comm, const std::filesystem::path& tmp, const std::filesystem::path& path);

}  // namespace specvae::h5
