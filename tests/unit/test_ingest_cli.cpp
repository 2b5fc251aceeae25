// `specvae ingest` as a user runs it: the written file read back with h5py (an independent
// HDF5 reader) has the schema, unit-norm rows, ivar 0 on masked bins and the rejection counts;
// running again without --overwrite fails with a message and leaves the file as it was.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

int run(const std::string& cmd, std::string* output = nullptr) {
  const fs::path log = fs::temp_directory_path() / fmt::format("specvae_ingest_cli_{}.log", ::getpid());
  const int rc = std::system((cmd + " > " + log.string() + " 2>&1").c_str());
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  if (output) *output = ss.str();
  fs::remove(log);
  return rc;
}

}  // namespace

TEST(IngestCli, WritesADatasetH5pyCanReadAndRefusesToOverwrite) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("specvae_ingest_cli_{}", ::getpid());
  fs::remove_all(dir);
  ASSERT_EQ(run(fmt::format("{} {}/tests/unit/test_ingest_make_survey.py {} --files 2 --per-file 20 --seed 8",
                            SPECVAE_PYTHON, SPECVAE_SOURCE_DIR, dir.string())),
            0);
  const fs::path out = dir / "dataset.h5";
  // Scratch files a killed job with more ranks left behind are cleared; others are not touched.
  std::ofstream(out.string() + ".spool.5") << "stale";
  std::ofstream(out.string() + ".spool.notes") << "not ours";
  std::string log;
  ASSERT_EQ(run(fmt::format("{} ingest --input {} --out {} --set ingest.pca_sample=30", SPECVAE_BINARY, dir.string(),
                            out.string()),
                &log),
            0)
      << log;
  ASSERT_TRUE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
  EXPECT_FALSE(fs::exists(out.string() + ".spool.5"));
  EXPECT_FALSE(fs::exists(out.string() + ".spool.0"));
  EXPECT_TRUE(fs::exists(out.string() + ".spool.notes"));

  const std::string check = R"PY(
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
n = f["flux"].shape[0]
assert f["flux"].shape == (n, 1000) and f["ivar"].shape == (n, 1000) and f["mask"].shape == (n, 1000), "shapes"
assert n > 10, n
w = f["wave"][:]
assert abs(w[0] - 3601.978) < 1e-9 and abs(w[-1] - 7554.022) < 1e-9, (w[0], w[-1])
flux, ivar, mask = f["flux"][:].astype(np.float64), f["ivar"][:], f["mask"][:]
assert np.all(np.abs(np.linalg.norm(flux, axis=1) - 1) < 1e-5), "unit norm"
assert np.all(ivar[mask == 1] == 0) and np.all(ivar >= 0) and np.all(np.isfinite(flux)), "masks"
z = f["z"][:]
assert np.all((z >= 0) & (z <= 0.3)), "z range"
assert np.all(f["snr"][:] > 5), "snr"
tid = f["targetid"][:]
assert np.all(np.diff(tid) > 0), "file order then row"
total = n + sum(int(v) for k, v in f.attrs.items() if k.startswith("rejected_"))
assert total == 40, total
print("ok", n)
)PY";
  const fs::path script = dir / "check.py";
  std::ofstream(script) << check;
  std::string py;
  EXPECT_EQ(run(fmt::format("{} {} {}", SPECVAE_PYTHON, script.string(), out.string()), &py), 0) << py;

  const auto before = fs::last_write_time(out);
  std::string again;
  EXPECT_NE(run(fmt::format("{} ingest --input {} --out {}", SPECVAE_BINARY, dir.string(), out.string()), &again), 0);
  EXPECT_NE(again.find("already exists"), std::string::npos) << again;
  EXPECT_EQ(fs::last_write_time(out), before);
  EXPECT_EQ(run(fmt::format("{} ingest --input {} --out {} --overwrite --set ingest.pca_sample=30", SPECVAE_BINARY,
                            dir.string(), out.string())),
            0);
  fs::remove_all(dir);
}

// Refusals that must come before anything is written: a selection that keeps nothing (the
// reasons are in the message, and a dataset already there stays as it was), an --out that is a
// directory, an --out that is one of the inputs.
TEST(IngestCli, RefusesAnEmptyResultAndOutputsThatAreNotNewFiles) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("specvae_ingest_refuse_{}", ::getpid());
  fs::remove_all(dir);
  ASSERT_EQ(run(fmt::format("{} {}/tests/unit/test_ingest_make_survey.py {} --files 1 --per-file 20 --seed 8",
                            SPECVAE_PYTHON, SPECVAE_SOURCE_DIR, dir.string())),
            0);
  const fs::path out = dir.parent_path() / fmt::format("specvae_ingest_refuse_{}.h5", ::getpid());
  std::string log;
  ASSERT_EQ(run(fmt::format("{} ingest --input {} --out {} --set ingest.pca_sample=30", SPECVAE_BINARY, dir.string(),
                            out.string()),
                &log),
            0)
      << log;
  EXPECT_NE(log.find("kept (rejected: "), std::string::npos) << log;  // the reasons, on success too
  const auto size = fs::file_size(out);
  const auto before = fs::last_write_time(out);

  EXPECT_NE(run(fmt::format("{} ingest --input {} --out {} --overwrite --set ingest.z_max=0.0001", SPECVAE_BINARY,
                            dir.string(), out.string()),
                &log),
            0);
  EXPECT_NE(log.find("no spectrum passed the selection: 20 spectra in 1 files, rejected: "), std::string::npos) << log;
  EXPECT_NE(log.find("z_range"), std::string::npos) << log;
  EXPECT_EQ(fs::file_size(out), size);
  EXPECT_EQ(fs::last_write_time(out), before);
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
  EXPECT_FALSE(fs::exists(out.string() + ".spool.0"));

  const fs::path sub = dir / "sub";
  fs::create_directories(sub);
  EXPECT_NE(run(fmt::format("{} ingest --input {} --out {} --overwrite", SPECVAE_BINARY, dir.string(), sub.string()),
                &log),
            0);
  EXPECT_NE(log.find("is a directory"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(sub.string() + ".tmp"));

  fs::path coadd;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().starts_with("coadd-")) coadd = e.path();
  ASSERT_FALSE(coadd.empty());
  const auto coadd_size = fs::file_size(coadd);
  EXPECT_NE(run(fmt::format("{} ingest --input {} --out {} --overwrite", SPECVAE_BINARY, dir.string(), coadd.string()),
                &log),
            0);
  EXPECT_NE(log.find("is one of the input files"), std::string::npos) << log;
  EXPECT_EQ(fs::file_size(coadd), coadd_size);
  fs::remove(out);
  fs::remove_all(dir);
}
