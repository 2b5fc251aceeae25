// The preprocessed dataset in parallel HDF5: collective hyperslab writes at offsets from an
// exclusive scan, attributes for provenance, atomic commit by rename, and collective reads.
#include "specvae/io/dataset.hpp"

#include <cmath>
#include <cstring>
#include <type_traits>

#include <fmt/ranges.h>

#include "specvae/core/config.hpp"
#include "specvae/core/error.hpp"
#include "specvae/core/version.hpp"
#include "specvae/io/hdf5.hpp"

namespace specvae {
namespace {

constexpr hsize_t kChunkRows = 256;      // 256 rows × 1000 bins × 4 B = 1 MB chunks

int comm_rank(MPI_Comm comm) {
  int r = 0;
  if (h5::use_mpio(comm)) MPI_Comm_rank(comm, &r);
  return r;
}

// Sum over ranks (rank order) of a uint64 with wrap-around; identity without MPI.
std::uint64_t allreduce_u64(MPI_Comm comm, std::uint64_t v) {
  if (!h5::use_mpio(comm)) return v;
  int size = 1;
  MPI_Comm_size(comm, &size);
  std::vector<std::uint64_t> all(static_cast<std::size_t>(size), 0);
  SPECVAE_MPI_CHECK(MPI_Allgather(&v, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm));
  std::uint64_t s = 0;
  for (auto x : all) s += x;
  return s;
}

std::int64_t allreduce_i64(MPI_Comm comm, std::int64_t v) {
  if (!h5::use_mpio(comm)) return v;
  std::int64_t out = 0;
  SPECVAE_MPI_CHECK(MPI_Allreduce(&v, &out, 1, MPI_INT64_T, MPI_SUM, comm));
  return out;
}

std::int64_t exscan_i64(MPI_Comm comm, std::int64_t v) {
  if (!h5::use_mpio(comm)) return 0;
  std::int64_t out = 0;
  SPECVAE_MPI_CHECK(MPI_Exscan(&v, &out, 1, MPI_INT64_T, MPI_SUM, comm));
  return comm_rank(comm) == 0 ? 0 : out;
}

h5::Handle string_type(std::size_t width = kRowStringWidth) {
  h5::Handle t(SPECVAE_HDF5_CHECK(H5Tcopy(H5T_C_S1)));
  SPECVAE_HDF5_CHECK(H5Tset_size(t, width));
  SPECVAE_HDF5_CHECK(H5Tset_strpad(t, H5T_STR_NULLPAD));
  return t;
}

h5::Handle create_rows_dataset(hid_t file, const char* name, hid_t type, std::int64_t rows, int cols) {
  const int rank = cols > 0 ? 2 : 1;
  hsize_t d[2] = {hsize_t(rows), hsize_t(std::max(cols, 1))};
  hsize_t maxd[2] = {H5S_UNLIMITED, d[1]};
  hsize_t chunk[2] = {std::max<hsize_t>(1, std::min<hsize_t>(kChunkRows, hsize_t(rows))), d[1]};
  if (rank == 1) chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(kChunkRows * 64, hsize_t(rows)));
  h5::Handle space(SPECVAE_HDF5_CHECK(H5Screate_simple(rank, d, maxd)));
  h5::Handle dcpl(SPECVAE_HDF5_CHECK(H5Pcreate(H5P_DATASET_CREATE)));
  SPECVAE_HDF5_CHECK(H5Pset_chunk(dcpl, rank, chunk));
  // Parallel writes need the space allocated up front (no fill writes per rank).
  SPECVAE_HDF5_CHECK(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
  SPECVAE_HDF5_CHECK(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
  return h5::Handle(SPECVAE_HDF5_CHECK(H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)));
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

std::string provenance_fingerprint(const DatasetProvenance& p) {
  std::string s = p.selection + "\x1f" + p.config_toml + "\x1f" + p.config_hash + "\x1f" + join_lines(p.input_files);
  for (const auto& [k, v] : p.rejected) s += k + "=" + std::to_string(v) + ";";
  for (const auto& [k, v] : p.extra_string_attrs) s += k + "=" + v + ";";
  for (double w : p.wave) s.append(reinterpret_cast<const char*>(&w), sizeof w);
  return s;
}

void check_rows(const DatasetRows& r) {
  const auto n = std::size_t(r.count), nb = n * std::size_t(r.n_bins);
  SPECVAE_CHECK(r.flux.size() == nb && r.ivar.size() == nb && r.mask.size() == nb, "dataset rows: spectra arrays of the wrong size");
  const char* bad = r.first_column_not_of(n);
  SPECVAE_CHECK(bad == nullptr, "dataset rows: column {} has the wrong size", bad ? bad : "");
}

// The HDF5 file type of a column (the memory type of a numeric column is its native one).
template <typename T> hid_t file_type();
template <> hid_t file_type<std::int64_t>() { return H5T_STD_I64LE; }
template <> hid_t file_type<std::int32_t>() { return H5T_STD_I32LE; }
template <> hid_t file_type<double>() { return H5T_IEEE_F64LE; }
template <> hid_t file_type<float>() { return H5T_IEEE_F32LE; }
template <> hid_t file_type<std::uint8_t>() { return H5T_STD_U8LE; }
template <typename T> hid_t mem_type();
template <> hid_t mem_type<std::int64_t>() { return H5T_NATIVE_INT64; }
template <> hid_t mem_type<std::int32_t>() { return H5T_NATIVE_INT32; }
template <> hid_t mem_type<double>() { return H5T_NATIVE_DOUBLE; }
template <> hid_t mem_type<float>() { return H5T_NATIVE_FLOAT; }
template <> hid_t mem_type<std::uint8_t>() { return H5T_NATIVE_UINT8; }

template <typename V> constexpr bool is_strings = std::is_same_v<std::decay_t<V>, std::vector<std::string>>;

}  // namespace

void DatasetRows::resize(std::int64_t rows, int bins) {
  count = rows;
  n_bins = bins;
  const auto n = std::size_t(rows), nb = n * std::size_t(bins);
  flux.resize(nb);
  ivar.resize(nb);
  mask.resize(nb);
  resize_columns(n);
}

void DatasetRows::append(const DatasetRows& o) {
  if (count == 0 && n_bins == 0) n_bins = o.n_bins;
  SPECVAE_CHECK(o.n_bins == n_bins || o.count == 0, "appending rows of {} bins to rows of {}", o.n_bins, n_bins);
  auto cat = [](auto& a, const auto& b) { a.insert(a.end(), b.begin(), b.end()); };
  cat(flux, o.flux);
  cat(ivar, o.ivar);
  cat(mask, o.mask);
  append_columns(o);
  count += o.count;
}

std::uint64_t partial_dataset_hash(const DatasetRows& r) { return partial_dataset_hash(r, r.begin); }

std::uint64_t partial_dataset_hash(const DatasetRows& r, std::int64_t begin) {
  std::uint64_t sum = 0;
  const std::size_t nb = std::size_t(r.n_bins);
  for (std::int64_t i = 0; i < r.count; ++i) {
    const std::size_t o = std::size_t(i) * nb;
    std::uint64_t h = fnv1a64(std::string_view(reinterpret_cast<const char*>(&r.targetid[std::size_t(i)]), 8),
                              fnv1a64(std::to_string(begin + i)));
    h = fnv1a64(std::string_view(reinterpret_cast<const char*>(r.flux.data() + o), nb * 4), h);
    h = fnv1a64(std::string_view(reinterpret_cast<const char*>(r.ivar.data() + o), nb * 4), h);
    h = fnv1a64(std::string_view(reinterpret_cast<const char*>(r.mask.data() + o), nb), h);
    // Every per-row column too: a dataset whose redshifts, classes, split or any column a later
    // stage reads changed is another dataset.
    r.for_each_column([&](const ColumnSpec&, const auto& col) {
      const auto& v = col[std::size_t(i)];
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) h = fnv1a64(v + '\0', h);
      else h = fnv1a64(std::string_view(reinterpret_cast<const char*>(&v), sizeof v), h);
    });
    sum += h;
  }
  return sum;
}

struct DatasetWriter::Impl {
  MPI_Comm comm;
  std::filesystem::path path, tmp;
  std::int64_t offset = 0, total = 0, next = 0;
  int n_bins = 0;
  std::vector<double> wave;
  std::uint64_t hash_part = 0;
  bool first_write = true, committed = false;
  DatasetWriteReport report;
  h5::Handle file, flux, ivar, mask;
  std::vector<h5::Handle> columns;  // one per RowColumns column, in table order
};

DatasetWriter::DatasetWriter(MPI_Comm comm, std::filesystem::path path, bool overwrite) : impl_(std::make_unique<Impl>()) {
  impl_->comm = comm;
  impl_->path = std::move(path);
  std::int64_t exists = comm_rank(comm) == 0 && std::filesystem::exists(impl_->path) ? 1 : 0;
  if (allreduce_i64(comm, exists) > 0 && !overwrite)
    throw InputError(fmt::format("{}: the output exists; pass --overwrite to replace it", impl_->path.string()));
  impl_->tmp = h5::temp_path(comm, impl_->path);
}

DatasetWriter::~DatasetWriter() {
  if (!impl_ || impl_->committed) return;
  // Close our handles first (the datasets before the file); then the unfinished temporary file
  // goes.
  auto& m = *impl_;
  m.columns.clear();
  for (h5::Handle* h : {&m.mask, &m.ivar, &m.flux}) *h = h5::Handle();
  m.file = h5::Handle();
  // Every rank removes it: a rank that failed alone (a full disk) may end the job before
  // rank 0 gets here.
  if (!m.tmp.empty()) {
    std::error_code ec;
    std::filesystem::remove(impl_->tmp, ec);
  }
}

void DatasetWriter::open(std::int64_t offset, std::int64_t total, const std::vector<double>& wave) {
  auto& m = *impl_;
  SPECVAE_CHECK(m.file.get() < 0, "DatasetWriter::open called twice");
  m.offset = m.next = offset;
  m.total = total;
  m.wave = wave;
  m.n_bins = int(wave.size());
  m.file = h5::create_file(m.comm, m.tmp);
  m.flux = create_rows_dataset(m.file, "flux", H5T_IEEE_F32LE, total, m.n_bins);
  m.ivar = create_rows_dataset(m.file, "ivar", H5T_IEEE_F32LE, total, m.n_bins);
  m.mask = create_rows_dataset(m.file, "mask", H5T_STD_U8LE, total, m.n_bins);
  const RowColumns table;
  table.for_each_column([&](const ColumnSpec& spec, const auto& col) {
    using V = std::decay_t<decltype(col)>;
    h5::Handle d;
    if constexpr (is_strings<V>) d = create_rows_dataset(m.file, spec.name, string_type(), total, 0);
    else d = create_rows_dataset(m.file, spec.name, file_type<typename V::value_type>(), total, 0);
    h5::write_attr(d, "description", std::string(spec.description));
    if (*spec.unit) h5::write_attr(d, "unit", std::string(spec.unit));
    m.columns.push_back(std::move(d));
  });
  hsize_t nb = hsize_t(m.n_bins);
  h5::Handle space(SPECVAE_HDF5_CHECK(H5Screate_simple(1, &nb, nullptr)));
  h5::Handle w(SPECVAE_HDF5_CHECK(H5Dcreate2(m.file, "wave", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
  h5::Handle dxpl = h5::transfer(m.comm);
  SPECVAE_HDF5_CHECK(H5Dwrite(w, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, dxpl, wave.data()));
  h5::write_attr(w, "unit", std::string("Angstrom (rest frame, bin centres)"));
}

void DatasetWriter::write(const DatasetRows& chunk) {
  auto& m = *impl_;
  SPECVAE_CHECK(m.file.get() >= 0, "DatasetWriter::write before open");
  inject_crash("dataset.write");  // the tests' kill during ingest's second pass
  DatasetRows rows;
  const DatasetRows* r = &chunk;
  if (chunk.count == 0) {  // an empty chunk may come without any arrays
    rows.resize(0, m.n_bins);
    r = &rows;
  }
  check_rows(*r);
  SPECVAE_CHECK(r->count == 0 || r->n_bins == m.n_bins, "rows have {} bins, the grid {}", r->n_bins, m.n_bins);
  SPECVAE_CHECK(m.next + r->count <= m.offset + m.total, "DatasetWriter: more rows than announced");
  const std::int64_t at = m.next, n = r->count;

  m.hash_part += partial_dataset_hash(*r, at);  // seeded by global row numbers

  auto rep = h5::write_rows_reported(m.comm, m.flux, H5T_NATIVE_FLOAT, at, n, r->flux.data());
  if (m.first_write) {
    m.report.mpio = rep.mpio;
    m.report.collective = rep.collective;
    m.report.no_collective_cause_local = rep.no_collective_cause_local;
    m.report.no_collective_cause_global = rep.no_collective_cause_global;
    m.first_write = false;
  }
  h5::write_rows(m.comm, m.ivar, H5T_NATIVE_FLOAT, at, n, r->ivar.data());
  h5::write_rows(m.comm, m.mask, H5T_NATIVE_UINT8, at, n, r->mask.data());
  std::size_t k = 0;
  r->for_each_column([&](const ColumnSpec& spec, const auto& col) {
    using V = std::decay_t<decltype(col)>;
    const hid_t d = m.columns[k++];
    if constexpr (is_strings<V>) {
      std::vector<char> text(static_cast<std::size_t>(n) * kRowStringWidth, '\0');
      for (std::size_t i = 0; i < col.size(); ++i) {
        if (col[i].size() > kRowStringWidth)
          throw InputError(fmt::format("{} '{}' of TARGETID {} is longer than {} bytes", upper_name(spec.name), col[i],
                                       r->targetid[i], kRowStringWidth));
        std::memcpy(text.data() + i * kRowStringWidth, col[i].data(), col[i].size());
      }
      h5::write_rows(m.comm, d, string_type(), at, n, text.data());
    } else {
      h5::write_rows(m.comm, d, mem_type<typename V::value_type>(), at, n, col.data());
    }
  });
  m.next += n;
}

std::int64_t DatasetWriter::commit(const DatasetProvenance& prov, DatasetWriteReport* report) {
  auto& m = *impl_;
  SPECVAE_CHECK(m.file.get() >= 0, "DatasetWriter::commit before open");
  // Every rank must describe the same dataset, and must have written what it announced.
  const std::uint64_t fp = fnv1a64(provenance_fingerprint(prov));
  if (h5::use_mpio(m.comm)) {
    std::uint64_t fp0 = fp;
    SPECVAE_MPI_CHECK(MPI_Bcast(&fp0, 1, MPI_UINT64_T, 0, m.comm));
    std::int64_t differs = allreduce_i64(m.comm, fp0 != fp ? 1 : 0);
    SPECVAE_CHECK(differs == 0, "ranks passed different dataset provenance to the dataset writer");
  }
  SPECVAE_CHECK(prov.wave == m.wave, "provenance grid differs from the grid the writer was opened with");
  SPECVAE_CHECK(allreduce_i64(m.comm, m.next - m.offset) == m.total, "DatasetWriter: rows written differ from the total announced");
  const std::string dataset_hash = fmt::format("{:016x}", allreduce_u64(m.comm, m.hash_part));

  h5::Handle root(SPECVAE_HDF5_CHECK(H5Gopen2(m.file, "/", H5P_DEFAULT)));
  h5::write_attr(root, "schema", std::string("specvae-dataset"));
  h5::write_attr(root, "schema_version", std::int64_t{kDatasetSchemaVersion});
  h5::write_attr(root, "n_rows", m.total);
  h5::write_attr(root, "n_bins", std::int64_t{m.n_bins});
  h5::write_attr(root, "wave_min", prov.wave_min);
  h5::write_attr(root, "wave_max", prov.wave_max);
  h5::write_attr(root, "selection", prov.selection);
  h5::write_attr(root, "config", prov.config_toml);
  h5::write_attr(root, "config_hash", prov.config_hash);
  h5::write_attr(root, "dataset_hash", dataset_hash);
  h5::write_attr(root, "code_version", version_string());
  h5::write_attr(root, "input_files", join_lines(prov.input_files));
  h5::write_attr(root, "n_input_files", std::int64_t(prov.input_files.size()));
  for (const auto& [reason, n] : prov.rejected) h5::write_attr(root, "rejected_" + reason, n);
  for (const auto& [k, v] : prov.extra_string_attrs) h5::write_attr(root, k, v);
  root = h5::Handle();
  m.columns.clear();
  for (h5::Handle* h : {&m.flux, &m.ivar, &m.mask}) *h = h5::Handle();
  h5::close_file(m.file, m.tmp);  // a failed flush (a full disk) is an error, not a short file
  h5::commit_rename(m.comm, m.tmp, m.path);
  m.committed = true;
  m.report.dataset_hash = dataset_hash;
  if (report) *report = m.report;
  return m.total;
}

std::int64_t write_dataset(MPI_Comm comm, const std::filesystem::path& path, const DatasetRows& local,
                           const DatasetProvenance& prov, bool overwrite, DatasetWriteReport* report) {
  check_rows(local);
  SPECVAE_CHECK(local.count == 0 || local.n_bins == int(prov.wave.size()), "rows have {} bins, the grid {}",
                local.n_bins, prov.wave.size());
  DatasetWriter writer(comm, path, overwrite);
  writer.open(exscan_i64(comm, local.count), allreduce_i64(comm, local.count), prov.wave);
  writer.write(local);
  return writer.commit(prov, report);
}

DatasetInfo read_dataset_info(MPI_Comm comm, const std::filesystem::path& path) {
  h5::Handle file = h5::open_file(comm, path);
  h5::Handle root(SPECVAE_HDF5_CHECK(H5Gopen2(file, "/", H5P_DEFAULT)));
  DatasetInfo info;
  info.path = path;
  if (!h5::has_attr(root, "schema") || h5::read_attr_string(root, "schema") != "specvae-dataset")
    throw InputError(fmt::format("{}: not a specvae dataset (no schema attribute 'specvae-dataset')", path.string()));
  h5::read_all_attrs(root, info.string_attrs, info.int_attrs);
  info.schema_version = int(info.int_attrs["schema_version"]);
  if (info.schema_version != kDatasetSchemaVersion)
    throw InputError(fmt::format("{}: dataset schema version {} (this specvae reads version {})", path.string(),
                                 info.schema_version, kDatasetSchemaVersion));
  info.config_toml = info.string_attrs["config"];
  info.config_hash = info.string_attrs["config_hash"];
  info.dataset_hash = info.string_attrs["dataset_hash"];
  info.code_version = info.string_attrs["code_version"];
  info.n_bins = int(info.int_attrs["n_bins"]);

  h5::Handle flux = h5::open_dataset(file, "flux", path);
  auto d = h5::dims(flux);
  if (d.size() != 2 || int(d[1]) != info.n_bins)
    throw InputError(fmt::format("{}: /flux has shape [{}], expected [N, {}]", path.string(), fmt::join(d, ", "),
                                 info.n_bins));
  info.rows = std::int64_t(d[0]);
  h5::Handle wave = h5::open_dataset(file, "wave", path);
  const auto wd = h5::dims(wave);
  if (wd.size() != 1 || std::int64_t(wd[0]) != info.n_bins)
    throw InputError(fmt::format("{}: /wave has shape {}, expected [{}] (one wavelength per /flux column)",
                                 path.string(), fmt::join(wd, "x"), info.n_bins));
  h5::check_type_class(wave, H5T_NATIVE_DOUBLE);
  info.wave.resize(std::size_t(info.n_bins));
  h5::Handle dxpl = h5::transfer(comm);
  SPECVAE_HDF5_CHECK(H5Dread(wave, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, dxpl, info.wave.data()));
  return info;
}

namespace {
// What ingest guarantees and training and scoring rely on, checked on every row read (a
// dataset edited by hand or written by another tool): finite flux, finite ivar ≥ 0 with at
// least one bin of weight, mask and split 0 or 1.
// Returns the first problem found, or an empty string.
std::string first_bad_row(const std::filesystem::path& path, const DatasetRows& r, bool with_spectra) {
  const std::size_t nb = std::size_t(r.n_bins);
  for (std::size_t i = 0; i < std::size_t(r.count); ++i) {
    const std::int64_t row = r.begin + std::int64_t(i);
    if (r.split[i] > 1)
      return fmt::format("{}: /split row {} (TARGETID {}) is {} (0 = train, 1 = validation)", path.string(), row,
                         r.targetid[i], int(r.split[i]));
    if (!with_spectra) continue;
    const float* f = r.flux.data() + i * nb;
    const float* w = r.ivar.data() + i * nb;
    const std::uint8_t* m = r.mask.data() + i * nb;
    bool weighted = false;
    for (std::size_t b = 0; b < nb; ++b) {
      if (m[b] > 1)
        return fmt::format("{}: /mask row {} (TARGETID {}) bin {} is {} (0 = good, 1 = masked)", path.string(), row,
                           r.targetid[i], b, int(m[b]));
      if (!std::isfinite(f[b]))
        return fmt::format("{}: /flux row {} (TARGETID {}) bin {} is {}", path.string(), row, r.targetid[i], b, f[b]);
      if (!(w[b] >= 0) || !std::isfinite(w[b]))
        return fmt::format("{}: /ivar row {} (TARGETID {}) bin {} is {} (inverse variances are finite and >= 0)",
                           path.string(), row, r.targetid[i], b, w[b]);
      weighted = weighted || w[b] > 0;
    }
    if (!weighted)
      return fmt::format("{}: /ivar row {} (TARGETID {}) is 0 in every bin: nothing to fit or score", path.string(),
                         row, r.targetid[i]);
  }
  return {};
}

// Collective over comm: every rank throws when any rank's rows are bad, so none is left
// waiting in a later collective.
void check_row_values(MPI_Comm comm, const std::filesystem::path& path, const DatasetRows& r, bool with_spectra) {
  const std::string bad = first_bad_row(path, r, with_spectra);
  const std::int64_t any = allreduce_i64(comm, bad.empty() ? 0 : 1);
  if (any == 0) return;
  if (!bad.empty()) throw InputError(bad);
  throw InputError(fmt::format("{}: another rank found a bad row (its message names it)", path.string()));
}
}  // namespace

DatasetRows read_dataset_rows(MPI_Comm comm, const std::filesystem::path& path, std::int64_t begin,
                              std::int64_t count, bool with_spectra) {
  DatasetInfo info = read_dataset_info(comm, path);
  if (begin < 0 || count < 0 || begin + count > info.rows)
    throw InputError(fmt::format("{}: rows [{}, {}) requested from a dataset of {} rows", path.string(), begin,
                                 begin + count, info.rows));
  h5::Handle file = h5::open_file(comm, path);
  DatasetRows r;
  r.resize(count, info.n_bins);
  r.begin = begin;
  auto read = [&](const char* name, hid_t type, void* out) {
    h5::Handle d = h5::open_dataset(file, name, path);
    auto dd = h5::dims(d);
    if (dd.empty() || std::int64_t(dd[0]) != info.rows)
      throw InputError(fmt::format("{}: /{} has {} rows, /flux has {}", path.string(), name, dd.empty() ? 0 : dd[0], info.rows));
    h5::read_rows(comm, d, type, begin, count, out);
  };
  if (with_spectra) {
    read("flux", H5T_NATIVE_FLOAT, r.flux.data());
    read("ivar", H5T_NATIVE_FLOAT, r.ivar.data());
    read("mask", H5T_NATIVE_UINT8, r.mask.data());
  } else {
    r.flux.clear();
    r.ivar.clear();
    r.mask.clear();
  }
  r.for_each_column([&](const ColumnSpec& spec, auto& col) {
    using V = std::decay_t<decltype(col)>;
    if constexpr (is_strings<V>) {
      std::vector<char> text(static_cast<std::size_t>(count) * kRowStringWidth);
      read(spec.name, string_type(), text.data());
      for (std::size_t i = 0; i < std::size_t(count); ++i) {
        const char* p = text.data() + i * kRowStringWidth;
        col[i] = std::string(p, strnlen(p, kRowStringWidth));
      }
    } else {
      read(spec.name, mem_type<typename V::value_type>(), col.data());
    }
  });
  check_row_values(comm, path, r, with_spectra);
  return r;
}

}  // namespace specvae
