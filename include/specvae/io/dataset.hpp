// The preprocessed dataset (DESIGN.md §ingest): one HDF5 file, rows = spectra, chunked by
// rows, written and read collectively with parallel HDF5. Schema:
//   /flux [N,B] f32  /ivar [N,B] f32  /mask [N,B] u8  /wave [B] f64 (rest-frame bin centres)
//   one [N] dataset per column of io/row_columns.hpp (targetid, survey, program, healpix, ra,
//   dec, z, zwarn, deltachi2, spectype, coadd_fiberstatus, snr, split), each with its
//   `description` (and `unit`) attribute
// Root attributes: schema_version, n_bins, wave_min, wave_max, selection, config (TOML),
// config_hash, dataset_hash, code_version, input_files, rejected_<reason> counts.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <mpi.h>

#include "specvae/io/row_columns.hpp"

namespace specvae {

inline constexpr int kDatasetSchemaVersion = 2;  // 2: the DESI columns, 16-byte strings

// One rank's rows of the dataset (also what ingest hands to the writer): the spectra and the
// per-row columns (RowColumns).
struct DatasetRows : RowColumns {
  std::int64_t begin = 0;  // first global row
  std::int64_t count = 0;
  int n_bins = 0;
  std::vector<float> flux;          // [count * n_bins]
  std::vector<float> ivar;          // [count * n_bins]
  std::vector<std::uint8_t> mask;   // [count * n_bins], 1 = bin was bad (infilled)

  void resize(std::int64_t rows, int bins);
  void append(const DatasetRows& other);
};

struct DatasetInfo {
  std::filesystem::path path;
  std::int64_t rows = 0;
  int n_bins = 0;
  std::vector<double> wave;
  int schema_version = 0;
  std::string config_toml, config_hash, dataset_hash, code_version;
  std::map<std::string, std::string> string_attrs;    // every string attribute
  std::map<std::string, std::int64_t> int_attrs;      // every integer attribute
};

// What the writer records besides the rows.
struct DatasetProvenance {
  std::vector<double> wave;                           // bin centres
  double wave_min = 0, wave_max = 0;
  std::string selection;                              // human-readable selection
  std::string config_toml, config_hash;
  std::vector<std::string> input_files;
  std::map<std::string, std::int64_t> rejected;       // reason -> count (global)
  std::map<std::string, std::string> extra_string_attrs;
};

// Collective over `comm`: every rank passes its own rows (possibly none); an exclusive scan
// gives the offsets; each rank writes its hyperslab with collective MPI-IO transfers. Writes
// to "<path>.tmp" and renames it when complete; refuses an existing `path` unless overwrite.
// The dataset hash (FNV-1a over the spectra and every per-row column, in row order) is computed
// collectively and stored. Returns the total row count.
// Provenance must be identical on every rank (checked). `report`, when given, receives what
// HDF5 says about the flux write (collective or not, and why not).
struct DatasetWriteReport {
  bool mpio = false, collective = false;
  std::uint32_t no_collective_cause_local = 0, no_collective_cause_global = 0;
  std::string dataset_hash;
};
std::int64_t write_dataset(MPI_Comm comm, const std::filesystem::path& path, const DatasetRows& rows,
                           const DatasetProvenance& provenance, bool overwrite,
                           DatasetWriteReport* report = nullptr);

// Streaming form of write_dataset, for writers whose rows do not fit in memory at once:
//   DatasetWriter w(comm, path, overwrite);   // refuses an existing file (collective)
//   w.open(my_offset, total_rows, wave);       // creates "<path>.tmp" and its datasets
//   w.write(chunk) ...                         // collective rounds: every rank calls write the
//                                              // same number of times (count 0 allowed); each
//                                              // rank's chunks are contiguous from my_offset
//   w.commit(provenance, &report);             // attributes, dataset hash, rename
// Destroying an uncommitted writer leaves any existing file at `path` untouched.
class DatasetWriter {
 public:
  DatasetWriter(MPI_Comm comm, std::filesystem::path path, bool overwrite);
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  void open(std::int64_t offset, std::int64_t total_rows, const std::vector<double>& wave);
  void write(const DatasetRows& chunk);
  std::int64_t commit(const DatasetProvenance& provenance, DatasetWriteReport* report = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads the attributes and the grid (collective when MPI is up; any rank count).
DatasetInfo read_dataset_info(MPI_Comm comm, const std::filesystem::path& path);

// Collective read of rows [begin, begin+count) on each rank (count may be 0). Without
// with_spectra only the per-row columns (RowColumns) are read.
DatasetRows read_dataset_rows(MPI_Comm comm, const std::filesystem::path& path, std::int64_t begin,
                              std::int64_t count, bool with_spectra = true);

// The hash of rows as write_dataset computes it (sum over rows of a per-row FNV-1a seeded by
// the global row index, so it is independent of how rows are split over ranks).
std::uint64_t partial_dataset_hash(const DatasetRows& rows);
// The same with the rows taken to start at global row `begin`.
std::uint64_t partial_dataset_hash(const DatasetRows& rows, std::int64_t begin);

}  // namespace specvae
