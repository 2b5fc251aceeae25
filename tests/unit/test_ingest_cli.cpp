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
  std::string log;
  ASSERT_EQ(run(fmt::format("{} ingest --input {} --out {} --set ingest.pca_sample=30", SPECVAE_BINARY, dir.string(),
                            out.string()),
                &log),
            0)
      << log;
  ASSERT_TRUE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));

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
