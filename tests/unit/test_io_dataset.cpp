// The HDF5 dataset through the serial driver: round trip, attributes, refusal to overwrite,
// atomicity, partial reads and clear errors for files that are not datasets.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include "../common/dataset_fixture.hpp"
#include "specvae/core/error.hpp"
#include "specvae/io/dataset.hpp"
#include "specvae/io/hdf5.hpp"

using namespace specvae;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {
// A file in this process's scratch folder, which is removed when the test binary exits.
fs::path scratch(const std::string& name) {
  static const fs::path dir = fs::temp_directory_path() / ("specvae-test-io-" + std::to_string(::getpid()));
  static const struct Cleanup {
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup;
  fs::create_directories(dir);
  return dir / name;
}
}  // namespace

TEST(Dataset, RoundTripAndAttributes) {
  const int bins = 37;
  auto rows = fixtures::test_rows(0, 50, bins);
  auto prov = fixtures::test_provenance(bins);
  fs::path path = scratch("round.h5");
  fs::remove(path);
  DatasetWriteReport report;
  EXPECT_EQ(write_dataset(MPI_COMM_NULL, path, rows, prov, false, &report), 50);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  EXPECT_FALSE(report.mpio);

  DatasetInfo info = read_dataset_info(MPI_COMM_NULL, path);
  EXPECT_EQ(info.rows, 50);
  EXPECT_EQ(info.n_bins, bins);
  EXPECT_EQ(info.wave, prov.wave);
  EXPECT_EQ(info.config_hash, prov.config_hash);
  EXPECT_EQ(info.config_toml, prov.config_toml);
  EXPECT_EQ(info.dataset_hash, report.dataset_hash);
  EXPECT_EQ(info.int_attrs.at("rejected_snr"), 5);
  EXPECT_EQ(info.int_attrs.at("rejected_z_range"), 3);
  EXPECT_THAT(info.string_attrs.at("input_files"), HasSubstr("coadd-b.fits"));
  EXPECT_THAT(info.code_version, HasSubstr("specvae"));

  DatasetRows back = read_dataset_rows(MPI_COMM_NULL, path, 10, 25);
  auto expect = fixtures::test_rows(10, 25, bins);
  EXPECT_EQ(back.begin, 10);
  EXPECT_EQ(back.flux, expect.flux);
  EXPECT_EQ(back.ivar, expect.ivar);
  EXPECT_EQ(back.mask, expect.mask);
  EXPECT_EQ(back.targetid, expect.targetid);
  EXPECT_EQ(back.z, expect.z);
  EXPECT_EQ(back.spectype, expect.spectype);
  EXPECT_EQ(back.snr, expect.snr);
  EXPECT_EQ(back.split, expect.split);
  EXPECT_EQ(back.ra, expect.ra);
  EXPECT_EQ(back.dec, expect.dec);
  EXPECT_EQ(back.survey, expect.survey);
  EXPECT_EQ(back.program, expect.program);
  EXPECT_EQ(back.healpix, expect.healpix);
  EXPECT_EQ(back.zwarn, expect.zwarn);
  EXPECT_EQ(back.deltachi2, expect.deltachi2);
  EXPECT_EQ(back.coadd_fiberstatus, expect.coadd_fiberstatus);

  DatasetRows meta = read_dataset_rows(MPI_COMM_NULL, path, 0, 50, /*with_spectra=*/false);
  EXPECT_TRUE(meta.flux.empty());
  EXPECT_EQ(meta.targetid, rows.targetid);
  EXPECT_EQ(read_dataset_rows(MPI_COMM_NULL, path, 50, 0).count, 0);
}

// Strings are kept as they are up to 16 bytes (DESI's SPECTYPE is 6, but nothing is cut);
// a longer one is refused with its TARGETID.
TEST(Dataset, StringsAreKeptWholeOrRefused) {
  const int bins = 5;
  auto rows = fixtures::test_rows(0, 3, bins);
  rows.spectype[1] = "GALAXY_WITH_AGN";  // 15 bytes
  rows.survey[2] = "sv3";
  const fs::path path = scratch("strings.h5");
  fs::remove(path);
  write_dataset(MPI_COMM_NULL, path, rows, fixtures::test_provenance(bins), false);
  const DatasetRows back = read_dataset_rows(MPI_COMM_NULL, path, 0, 3);
  EXPECT_EQ(back.spectype, rows.spectype);
  EXPECT_EQ(back.survey, rows.survey);
  rows.program[0] = "a-program-name-too-long";
  try {
    write_dataset(MPI_COMM_NULL, path, rows, fixtures::test_provenance(bins), true);
    ADD_FAILURE() << "a 23-byte PROGRAM was written";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("PROGRAM"));
    EXPECT_THAT(e.what(), HasSubstr(std::to_string(rows.targetid[0])));
  }
  EXPECT_EQ(read_dataset_rows(MPI_COMM_NULL, path, 0, 3).spectype, back.spectype) << "the old file is kept";
}

TEST(RowColumns, Utf8AndBadStrings) {
  EXPECT_TRUE(valid_utf8("GALAXY"));
  EXPECT_TRUE(valid_utf8("\xc3\xa9toile"));          // é
  EXPECT_TRUE(valid_utf8("\xf0\x9f\x94\xad"));        // a 4-byte character
  EXPECT_FALSE(valid_utf8("\xff"));
  EXPECT_FALSE(valid_utf8("\xc3"));                   // cut short
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));               // overlong '/'
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));           // a surrogate
  RowColumns c;
  c.resize_columns(2);
  c.spectype[0] = "QSO";
  c.spectype[1] = "G\xe9";
  EXPECT_EQ(c.bad_string_at(0), nullptr);
  EXPECT_STREQ(c.bad_string_at(1), "spectype");
  c.survey[0] = std::string(17, 'x');
  EXPECT_STREQ(c.bad_string_at(0), "survey");
  EXPECT_STREQ(c.first_column_not_of(3), "targetid");
  EXPECT_EQ(c.first_column_not_of(2), nullptr);
}

TEST(Dataset, RefusesToOverwriteWithoutPermission) {
  const int bins = 8;
  fs::path path = scratch("exists.h5");
  fs::remove(path);
  write_dataset(MPI_COMM_NULL, path, fixtures::test_rows(0, 4, bins), fixtures::test_provenance(bins), false);
  auto before = read_dataset_info(MPI_COMM_NULL, path).dataset_hash;
  try {
    write_dataset(MPI_COMM_NULL, path, fixtures::test_rows(0, 6, bins), fixtures::test_provenance(bins), false);
    FAIL() << "overwrote without permission";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("--overwrite"));
  }
  EXPECT_EQ(read_dataset_info(MPI_COMM_NULL, path).dataset_hash, before);
  EXPECT_EQ(write_dataset(MPI_COMM_NULL, path, fixtures::test_rows(0, 6, bins), fixtures::test_provenance(bins), true), 6);
  EXPECT_EQ(read_dataset_info(MPI_COMM_NULL, path).rows, 6);
}

TEST(Dataset, EmptyDatasetIsValid) {
  fs::path path = scratch("empty.h5");
  fs::remove(path);
  DatasetRows none;
  none.n_bins = 5;
  EXPECT_EQ(write_dataset(MPI_COMM_NULL, path, none, fixtures::test_provenance(5), false), 0);
  EXPECT_EQ(read_dataset_info(MPI_COMM_NULL, path).rows, 0);
}

TEST(Dataset, HashDependsOnContentAndPositionNotOnSplitting) {
  const int bins = 9;
  auto all = fixtures::test_rows(0, 30, bins);
  auto a = fixtures::test_rows(0, 11, bins), b = fixtures::test_rows(11, 19, bins);
  EXPECT_EQ(partial_dataset_hash(all), partial_dataset_hash(a) + partial_dataset_hash(b));
  auto changed = all;
  changed.flux[100] += 1e-3f;
  EXPECT_NE(partial_dataset_hash(changed), partial_dataset_hash(all));
  // The labels count: a new redshift, class or split is another dataset.
  auto relabelled = all;
  relabelled.z[3] += 1e-6;
  EXPECT_NE(partial_dataset_hash(relabelled), partial_dataset_hash(all));
  relabelled = all;
  relabelled.spectype[3] = relabelled.spectype[3] == "QSO" ? "STAR" : "QSO";
  EXPECT_NE(partial_dataset_hash(relabelled), partial_dataset_hash(all));
  relabelled = all;
  relabelled.split[3] ^= 1;
  EXPECT_NE(partial_dataset_hash(relabelled), partial_dataset_hash(all));
}

TEST(Dataset, ClearErrors) {
  fs::path junk = scratch("junk.h5");
  std::ofstream(junk) << "not hdf5";
  EXPECT_THROW(
      {
        try {
          read_dataset_info(MPI_COMM_NULL, junk);
        } catch (const InputError& e) {
          EXPECT_THAT(e.what(), HasSubstr("junk.h5"));
          throw;
        }
      },
      InputError);
  EXPECT_THROW(read_dataset_info(MPI_COMM_NULL, scratch("missing.h5")), InputError);
  fs::path path = scratch("range.h5");
  fs::remove(path);
  write_dataset(MPI_COMM_NULL, path, fixtures::test_rows(0, 4, 3), fixtures::test_provenance(3), false);
  EXPECT_THROW(read_dataset_rows(MPI_COMM_NULL, path, 2, 5), InputError);
  // A truncated file names itself.
  fs::path cut = scratch("cut.h5");
  fs::copy_file(path, cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, fs::file_size(cut) / 3);
  EXPECT_THROW(read_dataset_rows(MPI_COMM_NULL, cut, 0, 4), InputError);
}

// A row that breaks what ingest guarantees (a dataset edited by hand or written by another
// tool) is named with its dataset, row, TARGETID and bin.
TEST(Dataset, RowsThatBreakTheSchemaAreNamed) {
  const int bins = 5;
  struct Case {
    const char* name;
    std::function<void(DatasetRows&)> edit;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"nan_flux", [](DatasetRows& r) { r.flux[2 * bins + 3] = NAN; }, "/flux row 2 (TARGETID 39633345008634467) bin 3 is nan"},
      {"neg_ivar", [](DatasetRows& r) { r.ivar[1 * bins + 0] = -1; }, "/ivar row 1 (TARGETID 39633345008634466) bin 0 is -1"},
      {"no_weight", [](DatasetRows& r) { std::fill_n(r.ivar.begin() + 3 * bins, bins, 0.0f); }, "/ivar row 3 (TARGETID 39633345008634468) is 0 in every bin"},
      {"mask7", [](DatasetRows& r) { r.mask[0 * bins + 4] = 7; }, "/mask row 0 (TARGETID 39633345008634465) bin 4 is 7"},
      {"split2", [](DatasetRows& r) { r.split[3] = 2; }, "/split row 3 (TARGETID 39633345008634468) is 2"},
  };
  for (const auto& c : cases) {
    const fs::path path = scratch(std::string(c.name) + ".h5");
    fs::remove(path);
    DatasetRows rows = fixtures::test_rows(0, 4, bins);
    c.edit(rows);
    write_dataset(MPI_COMM_NULL, path, rows, fixtures::test_provenance(bins), false);
    try {
      read_dataset_rows(MPI_COMM_NULL, path, 0, 4);
      ADD_FAILURE() << c.name << " was read";
    } catch (const InputError& e) {
      EXPECT_THAT(e.what(), HasSubstr(path.string() + ": " + c.message)) << c.name;
    }
  }
  // A /wave of another length than the bins (it used to be read into a buffer of n_bins).
  const fs::path wave = scratch("wave.h5");
  fs::remove(wave);
  write_dataset(MPI_COMM_NULL, wave, fixtures::test_rows(0, 4, bins), fixtures::test_provenance(bins), false);
  {
    const hid_t f = H5Fopen(wave.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "wave", H5P_DEFAULT);
    const hsize_t n = 50;
    const hid_t sp = H5Screate_simple(1, &n, nullptr);
    const hid_t d = H5Dcreate2(f, "wave", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    std::vector<double> w(n, 4000.0);
    H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, w.data());
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
  }
  try {
    read_dataset_info(MPI_COMM_NULL, wave);
    ADD_FAILURE() << "a /wave of 50 values for 5 bins was read";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/wave has shape 50, expected [5]"));
  }
}

TEST(DatasetWriter, ChunkedWritesEqualOneShotWrite) {
  const int bins = 16;
  auto prov = fixtures::test_provenance(bins);
  fs::path one = scratch("oneshot.h5"), chunked = scratch("chunked.h5");
  fs::remove(one);
  fs::remove(chunked);
  write_dataset(MPI_COMM_NULL, one, fixtures::test_rows(0, 23, bins), prov, false);
  {
    DatasetWriter w(MPI_COMM_NULL, chunked, false);
    w.open(0, 23, prov.wave);
    w.write(fixtures::test_rows(0, 10, bins));
    w.write(DatasetRows{});  // an empty round
    w.write(fixtures::test_rows(10, 13, bins));
    EXPECT_EQ(w.commit(prov), 23);
  }
  EXPECT_EQ(read_dataset_info(MPI_COMM_NULL, one).dataset_hash, read_dataset_info(MPI_COMM_NULL, chunked).dataset_hash);
  EXPECT_EQ(read_dataset_rows(MPI_COMM_NULL, chunked, 0, 23).flux, fixtures::test_rows(0, 23, bins).flux);
}

TEST(DatasetWriter, AbandonedWriterLeavesNoFileAndKeepsTheOldOne) {
  const int bins = 4;
  auto prov = fixtures::test_provenance(bins);
  fs::path path = scratch("abandoned.h5");
  fs::remove(path);
  write_dataset(MPI_COMM_NULL, path, fixtures::test_rows(0, 3, bins), prov, false);
  const auto before = read_dataset_info(MPI_COMM_NULL, path).dataset_hash;
  {
    DatasetWriter w(MPI_COMM_NULL, path, /*overwrite=*/true);
    w.open(0, 5, prov.wave);
    w.write(fixtures::test_rows(0, 2, bins));
    // destroyed without commit, as when an exception unwinds
  }
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  EXPECT_EQ(read_dataset_info(MPI_COMM_NULL, path).dataset_hash, before);
}

// SPECVAE_H5_ALIGNMENT puts each large dataset on a boundary (the Lustre stripe in a job
// script); the rows read back the same. A malformed value, or malformed MPI-IO hints, is one
// error naming the variable.
TEST(Dataset, AlignmentFromTheEnvironment) {
  const int bins = 300;  // flux: 200 rows × 300 bins × 4 bytes = 240 kB, over half of 64 KiB
  auto rows = fixtures::test_rows(0, 200, bins);
  auto prov = fixtures::test_provenance(bins);
  const fs::path path = scratch("aligned.h5");
  fs::remove(path);
  ::setenv("SPECVAE_H5_ALIGNMENT", "65536", 1);
  write_dataset(MPI_COMM_NULL, path, rows, prov, false);
  ::unsetenv("SPECVAE_H5_ALIGNMENT");
  {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    const hid_t d = H5Dopen2(f, "flux", H5P_DEFAULT);
    ASSERT_GE(d, 0);
    // A contiguous dataset has an offset; a chunked one HADDR_UNDEF, and its first chunk one.
    haddr_t at = H5Dget_offset(d);
    if (at == HADDR_UNDEF) {
      const hid_t space = H5Dget_space(d);
      const herr_t got = H5Dget_chunk_info(d, space, 0, nullptr, nullptr, &at, nullptr);
      H5Sclose(space);
      ASSERT_GE(got, 0);
    }
    ASSERT_NE(at, HADDR_UNDEF);
    EXPECT_GT(at, 0u);
    EXPECT_EQ(at % 65536, 0u) << "flux starts at byte " << at;
    H5Dclose(d);
    H5Fclose(f);
  }
  const DatasetRows back = read_dataset_rows(MPI_COMM_NULL, path, 0, 200);
  EXPECT_EQ(back.flux, rows.flux);
  EXPECT_EQ(back.ivar, rows.ivar);

  ::setenv("SPECVAE_H5_ALIGNMENT", "16M", 1);
  fs::remove(path);
  try {
    write_dataset(MPI_COMM_NULL, path, rows, prov, false);
    ADD_FAILURE() << "a malformed SPECVAE_H5_ALIGNMENT was taken";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("SPECVAE_H5_ALIGNMENT: '16M'"));
  }
  ::unsetenv("SPECVAE_H5_ALIGNMENT");
  EXPECT_FALSE(fs::exists(path));

  ::setenv("SPECVAE_MPIIO_HINTS", " striping_factor=32; romio_cb_write=enable,", 1);
  const auto hints = h5::mpiio_hints();
  ASSERT_EQ(hints.size(), 2u);
  EXPECT_EQ(hints[0].first, "striping_factor");
  EXPECT_EQ(hints[1].second, "enable");
  ::setenv("SPECVAE_MPIIO_HINTS", "striping_factor", 1);
  try {
    h5::mpiio_hints();
    ADD_FAILURE() << "a hint without a value was taken";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("SPECVAE_MPIIO_HINTS: 'striping_factor' is not key=value"));
  }
  ::unsetenv("SPECVAE_MPIIO_HINTS");
}
