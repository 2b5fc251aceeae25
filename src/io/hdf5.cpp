// HDF5 helpers: RAII handles, collective property lists, attributes, row-block I/O and
// atomic commit by rename.
#include "specvae/io/hdf5.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>

#include "specvae/core/error.hpp"
#include "specvae/core/staged_file.hpp"

namespace specvae::h5 {

namespace {

// What HDF5's error stack says: its innermost message, and the file and errno a file driver
// reported (the sec2 driver: "filename = '...', ..., errno = 28, error message = '...'"; MPI-IO:
// the MPI error string).
struct StackSummary {
  std::string innermost, file;
  int err_no = 0;
};

herr_t walk_one(unsigned, const H5E_error2_t* e, void* data) {
  auto* s = static_cast<StackSummary*>(data);
  const std::string d = e->desc ? e->desc : "";
  if (s->err_no == 0) {
    if (const auto p = d.find("errno = "); p != std::string::npos) s->err_no = std::atoi(d.c_str() + p + 8);
    else if (d.find("No space left on device") != std::string::npos) s->err_no = ENOSPC;
    else if (d.find("Disk quota exceeded") != std::string::npos) s->err_no = EDQUOT;
  }
  if (const auto p = d.find("filename = '"); p != std::string::npos && s->file.empty()) {
    const auto q = d.find('\'', p + 12);
    if (q != std::string::npos) s->file = d.substr(p + 12, q - p - 12);
  }
  if (!d.empty()) s->innermost = fmt::format("{} ({}, {}:{})", d, e->func_name ? e->func_name : "?", e->file_name ? e->file_name : "?", e->line);
  return 0;
}

StackSummary read_stack() {
  StackSummary s;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_one, &s);
  H5Eclear2(H5E_DEFAULT);
  return s;
}

// A failure of the storage rather than of specvae: the user's to fix.
bool storage_errno(int e) { return e == ENOSPC || e == EDQUOT || e == EIO || e == EFBIG || e == EROFS; }

void throw_storage_error(const std::string& file, int err_no, std::string_view doing) {
  throw_write_error(file, err_no, doing);
}

void on_hdf5_failure(std::string_view, std::string& detail) {
  const StackSummary s = read_stack();
  if (storage_errno(s.err_no)) throw_storage_error(s.file, s.err_no, "write it");
  if (!s.innermost.empty()) detail = s.innermost;
}

}  // namespace

void install_error_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    // The stack is read when a call fails (on_hdf5_failure), not printed by every rank.
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    set_hdf5_failure_hook(&on_hdf5_failure);
  });
}

void close_file(Handle& file, const std::filesystem::path& path) {
  const hid_t id = file.get();
  if (id < 0) return;
  H5Eclear2(H5E_DEFAULT);
  const herr_t rc = H5Fclose(id);
  file.release();
  if (rc >= 0) return;
  const StackSummary s = read_stack();
  if (storage_errno(s.err_no)) throw_storage_error(path.string(), s.err_no, "finish writing it");
  throw InputError(fmt::format("{}: cannot finish writing the HDF5 file ({}); nothing was left under its final name",
                               user_visible_path(path).string(), s.innermost.empty() ? "H5Fclose failed" : s.innermost));
}

void Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
  id_ = -1;
}

bool use_mpio(MPI_Comm comm) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin && comm != MPI_COMM_NULL;
}

std::vector<std::pair<std::string, std::string>> mpiio_hints() {
  std::vector<std::pair<std::string, std::string>> hints;
  const char* env = std::getenv("SPECVAE_MPIIO_HINTS");
  if (!env) return hints;
  const std::string text = env;
  std::size_t at = 0;
  while (at <= text.size()) {
    std::size_t end = text.find_first_of(";,", at);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(at, end - at);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) {
      const auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
        throw InputError(fmt::format("SPECVAE_MPIIO_HINTS: '{}' is not key=value (the variable holds key=value pairs "
                                     "separated by ';', e.g. striping_factor=32;romio_cb_write=enable)",
                                     item));
      hints.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    }
    at = end + 1;
  }
  return hints;
}

std::pair<hsize_t, hsize_t> file_alignment() {
  const char* env = std::getenv("SPECVAE_H5_ALIGNMENT");
  if (!env || !*env) return {0, 0};
  char* end = nullptr;
  errno = 0;
  const unsigned long long a = std::strtoull(env, &end, 10);
  if (errno != 0 || end == env || *end != '\0' || a == 0 || a > (1ULL << 32))
    throw InputError(fmt::format("SPECVAE_H5_ALIGNMENT: '{}' should be a number of bytes from 1 to 4 GiB (e.g. "
                                 "16777216, the Lustre stripe size)",
                                 env));
  // Objects of at least half the alignment start on a boundary; HDF5's small metadata stays packed.
  return {static_cast<hsize_t>(std::max<unsigned long long>(a / 2, 1)), static_cast<hsize_t>(a)};
}

Handle file_access(MPI_Comm comm) {
  Handle fapl(SPECVAE_HDF5_CHECK(H5Pcreate(H5P_FILE_ACCESS)));
  if (const auto [threshold, alignment] = file_alignment(); alignment > 1)
    SPECVAE_HDF5_CHECK(H5Pset_alignment(fapl, threshold, alignment));
  if (use_mpio(comm)) {
    // MPI-IO hints (Lustre striping of a new file, collective buffering) from the job script.
    const auto hints = mpiio_hints();
    MPI_Info info = MPI_INFO_NULL;
    if (!hints.empty()) {
      MPI_Info_create(&info);
      for (const auto& [k, v] : hints) MPI_Info_set(info, k.c_str(), v.c_str());
    }
    const herr_t set = H5Pset_fapl_mpio(fapl, comm, info);  // HDF5 keeps its own copy of info
    if (info != MPI_INFO_NULL) MPI_Info_free(&info);
    SPECVAE_HDF5_CHECK(set);
    // Metadata read once and broadcast, written collectively: no metadata storms at scale.
    SPECVAE_HDF5_CHECK(H5Pset_all_coll_metadata_ops(fapl, true));
    SPECVAE_HDF5_CHECK(H5Pset_coll_metadata_write(fapl, true));
  }
  return fapl;
}

Handle transfer(MPI_Comm comm) {
  Handle dxpl(SPECVAE_HDF5_CHECK(H5Pcreate(H5P_DATASET_XFER)));
  if (use_mpio(comm)) SPECVAE_HDF5_CHECK(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE));
  return dxpl;
}

Handle create_file(MPI_Comm comm, const std::filesystem::path& path) {
  install_error_handler();
  Handle fapl = file_access(comm);
  hid_t f;
  H5E_BEGIN_TRY { f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl); }
  H5E_END_TRY;
  if (f < 0) {
    const StackSummary s = read_stack();
    if (storage_errno(s.err_no)) throw_storage_error(path.string(), s.err_no, "create it");
    throw InputError(fmt::format("{}: cannot create HDF5 file (check the folder exists and is writable)", path.string()));
  }
  return Handle(f);
}

Handle open_file(MPI_Comm comm, const std::filesystem::path& path, bool writable) {
  install_error_handler();
  if (!std::filesystem::exists(path)) throw InputError(fmt::format("{}: no such file", path.string()));
  Handle fapl = file_access(comm);
  hid_t f;
  H5E_BEGIN_TRY { f = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl); }
  H5E_END_TRY;
  if (f < 0) throw InputError(fmt::format("{}: not a readable HDF5 file (truncated or corrupt?)", path.string()));
  return Handle(f);
}

Handle open_dataset(hid_t file, const std::string& name, const std::filesystem::path& path) {
  hid_t d;
  H5E_BEGIN_TRY { d = H5Dopen2(file, name.c_str(), H5P_DEFAULT); }
  H5E_END_TRY;
  if (d < 0) throw InputError(fmt::format("{}: dataset '{}' is missing", path.string(), name));
  return Handle(d);
}

namespace {
void write_attr_raw(hid_t obj, const std::string& name, hid_t type, hid_t space, const void* data) {
  if (H5Aexists(obj, name.c_str()) > 0) SPECVAE_HDF5_CHECK(H5Adelete(obj, name.c_str()));
  Handle a(SPECVAE_HDF5_CHECK(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT)));
  SPECVAE_HDF5_CHECK(H5Awrite(a, type, data));
}

Handle string_type(std::size_t size) {
  Handle t(SPECVAE_HDF5_CHECK(H5Tcopy(H5T_C_S1)));
  SPECVAE_HDF5_CHECK(H5Tset_size(t, std::max<std::size_t>(size, 1)));
  SPECVAE_HDF5_CHECK(H5Tset_strpad(t, H5T_STR_NULLTERM));
  return t;
}

Handle open_attr(hid_t obj, const std::string& name) {
  hid_t a;
  H5E_BEGIN_TRY { a = H5Aopen(obj, name.c_str(), H5P_DEFAULT); }
  H5E_END_TRY;
  if (a < 0) throw InputError(fmt::format("HDF5 attribute '{}' is missing", name));
  return Handle(a);
}
}  // namespace

void write_attr(hid_t obj, const std::string& name, const std::string& value) {
  Handle t = string_type(value.size() + 1);
  Handle s(SPECVAE_HDF5_CHECK(H5Screate(H5S_SCALAR)));
  std::string buf = value;
  buf.push_back('\0');
  write_attr_raw(obj, name, t, s, buf.data());
}

void write_attr(hid_t obj, const std::string& name, std::int64_t value) {
  Handle s(SPECVAE_HDF5_CHECK(H5Screate(H5S_SCALAR)));
  write_attr_raw(obj, name, H5T_NATIVE_INT64, s, &value);
}

void write_attr(hid_t obj, const std::string& name, double value) {
  Handle s(SPECVAE_HDF5_CHECK(H5Screate(H5S_SCALAR)));
  write_attr_raw(obj, name, H5T_NATIVE_DOUBLE, s, &value);
}

void write_attr(hid_t obj, const std::string& name, const std::vector<double>& value) {
  hsize_t n = value.size();
  Handle s(SPECVAE_HDF5_CHECK(H5Screate_simple(1, &n, nullptr)));
  write_attr_raw(obj, name, H5T_NATIVE_DOUBLE, s, value.data());
}

bool has_attr(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

std::string read_attr_string(hid_t obj, const std::string& name) {
  Handle a = open_attr(obj, name);
  Handle ft(SPECVAE_HDF5_CHECK(H5Aget_type(a)));
  if (H5Tget_class(ft) != H5T_STRING) throw InputError(fmt::format("HDF5 attribute '{}' is not a string", name));
  if (H5Tis_variable_str(ft) > 0) {
    Handle mt(SPECVAE_HDF5_CHECK(H5Tcopy(H5T_C_S1)));
    SPECVAE_HDF5_CHECK(H5Tset_size(mt, H5T_VARIABLE));
    SPECVAE_HDF5_CHECK(H5Tset_cset(mt, H5Tget_cset(ft)));  // h5py writes UTF-8 by default
    char* p = nullptr;
    SPECVAE_HDF5_CHECK(H5Aread(a, mt, &p));
    std::string out = p ? p : "";
    Handle s(SPECVAE_HDF5_CHECK(H5Aget_space(a)));
    H5Dvlen_reclaim(mt, s, H5P_DEFAULT, &p);
    return out;
  }
  std::size_t size = H5Tget_size(ft);
  std::string buf(size + 1, '\0');
  Handle mt = string_type(size + 1);
  SPECVAE_HDF5_CHECK(H5Tset_cset(mt, H5Tget_cset(ft)));
  SPECVAE_HDF5_CHECK(H5Aread(a, mt, buf.data()));
  buf.resize(std::strlen(buf.c_str()));
  return buf;
}

namespace {
// A scalar (one value) attribute of the class wanted, or an InputError naming it.
void check_scalar_attr(hid_t a, const std::string& name, bool integer_only) {
  Handle t(SPECVAE_HDF5_CHECK(H5Aget_type(a)));
  Handle s(SPECVAE_HDF5_CHECK(H5Aget_space(a)));
  const H5T_class_t c = H5Tget_class(t);
  if (!(c == H5T_INTEGER || (!integer_only && c == H5T_FLOAT)))
    throw InputError(fmt::format("HDF5 attribute '{}' is {} where {} is expected", name,
                                 c == H5T_STRING ? "a string" : c == H5T_FLOAT ? "a floating-point number" : "not a number",
                                 integer_only ? "an integer" : "a number"));
  if (H5Sget_simple_extent_npoints(s) != 1)
    throw InputError(fmt::format("HDF5 attribute '{}' holds {} values where one is expected", name,
                                 H5Sget_simple_extent_npoints(s)));
}
}  // namespace

std::int64_t read_attr_int(hid_t obj, const std::string& name) {
  Handle a = open_attr(obj, name);
  check_scalar_attr(a, name, true);
  std::int64_t v = 0;
  SPECVAE_HDF5_CHECK(H5Aread(a, H5T_NATIVE_INT64, &v));
  return v;
}

double read_attr_double(hid_t obj, const std::string& name) {
  Handle a = open_attr(obj, name);
  check_scalar_attr(a, name, false);
  double v = 0;
  SPECVAE_HDF5_CHECK(H5Aread(a, H5T_NATIVE_DOUBLE, &v));
  return v;
}

void read_all_attrs(hid_t obj, std::map<std::string, std::string>& strings, std::map<std::string, std::int64_t>& ints) {
  H5O_info_t info;
  SPECVAE_HDF5_CHECK(H5Oget_info(obj, &info));
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    Handle a(SPECVAE_HDF5_CHECK(H5Aopen_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT)));
    ssize_t len = H5Aget_name(a, 0, nullptr);
    std::string name(static_cast<std::size_t>(len) + 1, '\0');
    H5Aget_name(a, std::size_t(len) + 1, name.data());
    name.resize(std::size_t(len));
    Handle t(SPECVAE_HDF5_CHECK(H5Aget_type(a)));
    Handle s(SPECVAE_HDF5_CHECK(H5Aget_space(a)));
    if (H5Sget_simple_extent_npoints(s) != 1) continue;
    if (H5Tget_class(t) == H5T_STRING) strings[name] = read_attr_string(obj, name);
    else if (H5Tget_class(t) == H5T_INTEGER) ints[name] = read_attr_int(obj, name);
  }
}

std::vector<hsize_t> dims(hid_t dataset) {
  Handle s(SPECVAE_HDF5_CHECK(H5Dget_space(dataset)));
  int rank = SPECVAE_HDF5_CHECK(H5Sget_simple_extent_ndims(s));
  std::vector<hsize_t> d(static_cast<std::size_t>(rank));
  SPECVAE_HDF5_CHECK(H5Sget_simple_extent_dims(s, d.data(), nullptr));
  return d;
}

namespace {
// File and memory dataspaces selecting rows [begin, begin+count) × all columns.
std::pair<Handle, Handle> row_spaces(hid_t dataset, std::int64_t begin, std::int64_t count) {
  Handle fs(SPECVAE_HDF5_CHECK(H5Dget_space(dataset)));
  int rank = SPECVAE_HDF5_CHECK(H5Sget_simple_extent_ndims(fs));
  SPECVAE_CHECK(rank == 1 || rank == 2, "row I/O on a {}-d dataset", rank);
  std::vector<hsize_t> d(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(fs, d.data(), nullptr);
  SPECVAE_CHECK(begin >= 0 && count >= 0 && hsize_t(begin + count) <= d[0],
                "rows [{}, {}) outside a dataset of {} rows", begin, begin + count, d[0]);
  std::vector<hsize_t> start(static_cast<std::size_t>(rank), 0), block = d;
  start[0] = hsize_t(begin);
  block[0] = hsize_t(count);
  Handle ms;
  if (count == 0) {
    SPECVAE_HDF5_CHECK(H5Sselect_none(fs));
    hsize_t one = 1;
    ms = Handle(SPECVAE_HDF5_CHECK(H5Screate_simple(1, &one, nullptr)));
    SPECVAE_HDF5_CHECK(H5Sselect_none(ms));
  } else {
    SPECVAE_HDF5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr));
    ms = Handle(SPECVAE_HDF5_CHECK(H5Screate_simple(rank, block.data(), nullptr)));
  }
  return {std::move(fs), std::move(ms)};
}
}  // namespace

CollectiveReport write_rows_reported(MPI_Comm comm, hid_t dataset, hid_t mem_type, std::int64_t begin,
                                     std::int64_t count, const void* data) {
  auto [fs, ms] = row_spaces(dataset, begin, count);
  Handle dxpl = transfer(comm);
  static const float dummy = 0;  // HDF5 wants a non-null buffer even for an empty selection
  SPECVAE_HDF5_CHECK(H5Dwrite(dataset, mem_type, ms, fs, dxpl, count ? data : &dummy));
  CollectiveReport r;
  r.mpio = use_mpio(comm);
  if (r.mpio) {
    H5D_mpio_actual_io_mode_t mode;
    SPECVAE_HDF5_CHECK(H5Pget_mpio_actual_io_mode(dxpl, &mode));
    r.collective = mode != H5D_MPIO_NO_COLLECTIVE;
    SPECVAE_HDF5_CHECK(H5Pget_mpio_no_collective_cause(dxpl, &r.no_collective_cause_local, &r.no_collective_cause_global));
  }
  return r;
}

void write_rows(MPI_Comm comm, hid_t dataset, hid_t mem_type, std::int64_t begin, std::int64_t count, const void* data) {
  (void)write_rows_reported(comm, dataset, mem_type, begin, count, data);
}

namespace {
const char* class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "floating-point";
    case H5T_STRING: return "string";
    default: return "non-numeric";
  }
}

std::string object_name(hid_t obj) {
  std::string file(256, '\0'), name(256, '\0');
  const ssize_t nf = H5Fget_name(obj, file.data(), file.size());
  const ssize_t nn = H5Iget_name(obj, name.data(), name.size());
  file.resize(nf > 0 ? std::min<std::size_t>(std::size_t(nf), file.size() - 1) : 0);
  name.resize(nn > 0 ? std::min<std::size_t>(std::size_t(nn), name.size() - 1) : 0);
  return fmt::format("{}: {}", file, name);
}
}  // namespace

void check_type_class(hid_t dataset, hid_t mem_type) {
  Handle ft(SPECVAE_HDF5_CHECK(H5Dget_type(dataset)));
  H5T_class_t have = H5Tget_class(ft);
  const H5T_class_t want = H5Tget_class(mem_type);
  if (have == H5T_ENUM) {  // h5py writes numpy booleans as an enum over an integer type
    Handle base(SPECVAE_HDF5_CHECK(H5Tget_super(ft)));
    have = H5Tget_class(base);
  }
  if (have != want)
    throw InputError(fmt::format("{} holds {} values where {} values are expected", object_name(dataset),
                                 class_name(have), class_name(want)));
}

void read_rows(MPI_Comm comm, hid_t dataset, hid_t mem_type, std::int64_t begin, std::int64_t count, void* data) {
  check_type_class(dataset, mem_type);
  auto [fs, ms] = row_spaces(dataset, begin, count);
  Handle dxpl = transfer(comm);
  static float dummy = 0;
  SPECVAE_HDF5_CHECK(H5Dread(dataset, mem_type, ms, fs, dxpl, count ? data : &dummy));
}

std::filesystem::path temp_path(MPI_Comm comm, const std::filesystem::path& path) {
  if (!use_mpio(comm)) return reserve_temp_name(path);
  int rank = 0;
  SPECVAE_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  std::string name, error;
  if (rank == 0) {
    try {
      name = reserve_temp_name(path).string();
    } catch (const InputError& e) {
      error = e.what();
    }
  }
  // Rank 0's name or its error, to every rank.
  std::string msg = error.empty() ? "N" + name : "E" + error;
  long long n = static_cast<long long>(msg.size());
  SPECVAE_MPI_CHECK(MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, comm));
  msg.resize(static_cast<std::size_t>(n));
  SPECVAE_MPI_CHECK(MPI_Bcast(msg.data(), static_cast<int>(n), MPI_CHAR, 0, comm));
  if (msg[0] == 'E') throw InputError(msg.substr(1));
  return std::filesystem::path(msg.substr(1));
}

void commit_rename(MPI_Comm comm, const std::filesystem::path& tmp, const std::filesystem::path& path) {
  int rank = 0;
  bool mpi = use_mpio(comm);
  if (mpi) {
    SPECVAE_MPI_CHECK(MPI_Barrier(comm));  // every rank has closed the file
    SPECVAE_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  }
  int ok = 1;
  if (rank == 0) {
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    ok = ec ? 0 : 1;
  }
  if (mpi) SPECVAE_MPI_CHECK(MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
  if (!ok) throw InputError(fmt::format("{}: cannot rename the finished file from {}", path.string(), tmp.string()));
}

}  // namespace specvae::h5
