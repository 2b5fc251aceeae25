// `specvae ingest` as a library function: DESI coadd + redrock file pairs in, one
// preprocessed parallel-HDF5 dataset out (DESIGN.md §ingest). Ranks share the input rows in
// file order (balanced by spectrum count), preprocess them in bounded chunks, fit the PCA
// infill on a deterministic sample, and write collectively; 1, 2 or 3 ranks give the same file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "specvae/core/config.hpp"
#include "specvae/dist/communicator.hpp"
#include "specvae/dist/stage_context.hpp"
#include "specvae/io/dataset.hpp"

namespace specvae::ingest {

// A coadd file and where its redshifts are: the redrock file with the same name suffix
// (coadd-X.fits, redrock-X.fits), or a redshift catalogue (zcatalog ZCATALOG HDU) shared by
// all coadds, of which only the rows of each chunk's TARGETIDs are read.
struct InputPair {
  std::filesystem::path coadd, redrock;
  bool zcatalog = false;
};

// Folders are searched (not recursively) for coadd-*.fits with a sibling redrock-*.fits;
// files may also be named directly (a coadd file, or a redrock file whose coadd is beside it).
// With `zcatalog` given, redshifts come from it and no redrock files are needed. The result is
// sorted by coadd path, without duplicates. A coadd without its redrock file, a missing path
// or no input at all is an InputError.
std::vector<InputPair> find_input_pairs(const std::vector<std::filesystem::path>& inputs,
                                        const std::filesystem::path& zcatalog = {});

// Rows [first, first + count) of the survey's concatenated spectra, split by file.
struct FileSlice {
  int file = 0;              // index into the pairs
  std::int64_t first = 0;    // first row inside the file
  std::int64_t count = 0;
};
// The slices of rank `rank`'s contiguous share (ShardPlan over the sum of counts; files with a
// negative count, i.e. unreadable, are skipped).
std::vector<FileSlice> rank_slices(const std::vector<std::int64_t>& counts, int rank, int ranks);

// The split of a TARGETID: 1 (validation) when FNV-1a64 of its 8 little-endian bytes, as a
// fraction of 2^64, is below val_fraction; else 0. Independent of rank count and order.
std::uint8_t split_of(std::int64_t targetid, double val_fraction);

struct IngestOutput {
  DatasetRows rows;              // this rank's rows, begin = global offset
  DatasetProvenance provenance;  // identical on every rank
  std::int64_t total_rows = 0;
};

// Collective over comm: everything except the write. Any Communicator (also in-process).
IngestOutput preprocess_survey(Communicator& comm, const Config& cfg, const std::vector<InputPair>& pairs);

struct IngestOptions {
  std::vector<std::filesystem::path> inputs;  // folders of coadd/redrock pairs, or the files
  std::filesystem::path out;                  // the dataset (HDF5) to write
  bool overwrite = false;                     // replace an existing `out` (else refused)
  std::filesystem::path zcatalog;             // redshifts from this catalogue instead of redrock files
};

struct IngestResult {
  std::int64_t rows = 0;  // written, over all ranks
};

// The whole stage, collective over ctx.mpi(): find inputs, preprocess, write `out`.
IngestResult run_ingest(const StageContext& ctx, const IngestOptions& options);

}  // namespace specvae::ingest
