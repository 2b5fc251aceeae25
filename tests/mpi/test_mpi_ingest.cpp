// `ingest` under mpiexec: the dataset written by all ranks is identical to the one written by
// one rank (and by two, under -np 3), compared value by value after reading the files back;
// an existing output is refused without --overwrite; a rank owning no input rows still joins.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <unistd.h>

#include "specvae/core/error.hpp"
#include "specvae/dist/distributed.hpp"
#include "specvae/ingest/ingest.hpp"
#include "specvae/io/dataset.hpp"

namespace fs = std::filesystem;
using namespace specvae;

namespace {

MpiCommunicator& world() { return *init_distributed(nullptr, nullptr).world; }

// Rank 0 writes the survey; every rank gets the folder name.
fs::path make_survey(const std::string& name, const std::string& args) {
  auto& w = world();
  std::int64_t pid = w.rank() == 0 ? ::getpid() : 0;
  w.broadcast(std::span<std::int64_t>(&pid, 1), 0);
  const fs::path dir = fs::temp_directory_path() / fmt::format("specvae_mpi_ingest_{}_{}", name, pid);
  int rc = 0;
  if (w.rank() == 0) {
    fs::remove_all(dir);
    const std::string cmd = fmt::format("{} {}/tests/unit/test_ingest_make_survey.py {} {}", SPECVAE_PYTHON,
                                        SPECVAE_SOURCE_DIR, dir.string(), args);
    rc = std::system(cmd.c_str());
  }
  std::int64_t rc64 = rc;
  w.broadcast(std::span<std::int64_t>(&rc64, 1), 0);
  EXPECT_EQ(rc64, 0);
  return dir;
}

Config small_config() {
  Config c = Config::defaults();
  c.set("ingest.pca_sample=40");
  c.set("ingest.chunk_rows=7");
  c.set("ingest.pca_n_iter=8");
  return c;
}

// Runs ingest on the first `n` world ranks only (the others wait).
void ingest_on_first(int n, const Config& cfg, const fs::path& in, const fs::path& out) {
  auto& w = world();
  MPI_Comm sub = MPI_COMM_NULL;
  MPI_Comm_split(w.handle(), w.rank() < n ? 0 : MPI_UNDEFINED, w.rank(), &sub);
  if (sub != MPI_COMM_NULL) {
    MpiCommunicator c(sub);
    ingest::run_ingest(StageContext(cfg, c), {{in}, out});
    MPI_Comm_free(&sub);
  }
  w.barrier();
}

// Every rank reads the whole file (collectively on the world communicator) and compares.
void expect_same_dataset(const fs::path& a, const fs::path& b) {
  auto& w = world();
  const DatasetInfo ia = read_dataset_info(w.handle(), a), ib = read_dataset_info(w.handle(), b);
  ASSERT_EQ(ia.rows, ib.rows);
  EXPECT_EQ(ia.dataset_hash, ib.dataset_hash);
  EXPECT_EQ(ia.config_hash, ib.config_hash);
  EXPECT_EQ(ia.wave, ib.wave);
  EXPECT_EQ(ia.int_attrs, ib.int_attrs);  // rejected_<reason> counts among them
  auto sa = ia.string_attrs, sb = ib.string_attrs;
  EXPECT_EQ(sa, sb);
  const DatasetRows ra = read_dataset_rows(w.handle(), a, 0, ia.rows), rb = read_dataset_rows(w.handle(), b, 0, ib.rows);
  EXPECT_EQ(ra.targetid, rb.targetid);
  EXPECT_EQ(ra.flux, rb.flux);
  EXPECT_EQ(ra.ivar, rb.ivar);
  EXPECT_EQ(ra.mask, rb.mask);
  EXPECT_EQ(ra.z, rb.z);
  EXPECT_EQ(ra.snr, rb.snr);
  EXPECT_EQ(ra.split, rb.split);
  EXPECT_EQ(ra.spectype, rb.spectype);
  EXPECT_EQ(ra.ra, rb.ra);
  EXPECT_EQ(ra.dec, rb.dec);
}

}  // namespace

TEST(MpiIngest, SameDatasetWithOneTwoAndAllRanks) {
  auto& w = world();
  const fs::path dir = make_survey("ranks", "--files 3 --per-file 25 --seed 5");
  const Config cfg = small_config();
  const fs::path all = dir / "all.h5", one = dir / "one.h5", two = dir / "two.h5";
  ingest::run_ingest(StageContext(cfg, w), {{dir}, all});
  ingest_on_first(1, cfg, dir, one);
  const DatasetInfo info = read_dataset_info(w.handle(), all);
  EXPECT_GT(info.rows, 30);
  EXPECT_EQ(info.int_attrs.at("rejected_z_range") + info.int_attrs.at("rejected_snr") +
                info.int_attrs.at("rejected_no_data") + info.rows,
            75);
  expect_same_dataset(all, one);
  if (w.size() >= 3) {
    ingest_on_first(2, cfg, dir, two);
    expect_same_dataset(all, two);
  }

  // The output exists now: refused without overwrite (on every rank), replaced with it.
  EXPECT_THROW(ingest::run_ingest(StageContext(cfg, w), {{dir}, all}), InputError);
  EXPECT_EQ(ingest::run_ingest(StageContext(cfg, w), {{dir}, all, /*overwrite=*/true}).rows, info.rows);
  w.barrier();
  if (w.rank() == 0) fs::remove_all(dir);
}

TEST(MpiIngest, ARankWithoutInputRowsJoinsTheWrite) {
  auto& w = world();
  // P-1 spectra in one file: the last rank owns no input rows (and so no output rows).
  const fs::path dir = make_survey("empty", fmt::format("--files 1 --per-file {} --seed 6 --zmax 0.25 --faint-frac 0",
                                                        w.size() - 1));
  const Config cfg = small_config();
  const std::int64_t n = ingest::run_ingest(StageContext(cfg, w), {{dir}, dir / "all.h5"}).rows;
  EXPECT_EQ(n, w.size() - 1);
  ingest_on_first(1, cfg, dir, dir / "one.h5");
  expect_same_dataset(dir / "all.h5", dir / "one.h5");
  w.barrier();
  if (w.rank() == 0) fs::remove_all(dir);
}
