// The simulated survey does not depend on the rank count: 2 file groups written by 2 or 3
// MPI ranks (with 3, one rank writes nothing) are byte-identical to the same survey written
// by a single rank, coadd and redrock files and truth.csv alike.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>

#include "specvae/dist/distributed.hpp"
#include "specvae/simulate/simulate.hpp"

namespace {

using namespace specvae;
using namespace specvae::sim;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream is(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(is), std::istreambuf_iterator<char>());
}

TEST(MpiSimulate, FilesAreIdenticalForAnyRankCount) {
  Communicator& world = *init_distributed(nullptr, nullptr).world;
  Config config = Config::defaults();
  config.set_value("simulate.n_spectra", std::int64_t{30});
  config.set_value("simulate.spectra_per_file", std::int64_t{16});  // groups of 16 and 14
  config.set_value("simulate.seed", std::int64_t{9});
  const SurveySpec spec = SurveySpec::from_config(config);
  ASSERT_EQ(spec.n_groups(), 2);

  // One shared folder name for the job (rank 0 chooses it).
  std::uint64_t tag = 0;
  if (world.rank() == 0) tag = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  world.broadcast(std::span<std::uint64_t>(&tag, 1), 0);
  const std::filesystem::path base = std::filesystem::temp_directory_path() / ("specvae-mpi-sim-" + std::to_string(tag));
  const std::filesystem::path parallel = base / "parallel", serial = base / "serial";

  const SimulateResult s = run_simulate(StageContext(config, world), {parallel, false});
  EXPECT_EQ(s.local_groups, world.rank() < 2 ? 1 : 0);
  EXPECT_EQ(s.class_counts[0] + s.class_counts[1] + s.class_counts[2], 30);

  // The single-rank reference, on rank 0 alone.
  if (world.rank() == 0) {
    MpiCommunicator self(MPI_COMM_SELF);
    run_simulate(StageContext(config, self), {serial, false});
    for (std::int64_t g = 0; g < spec.n_groups(); ++g) {
      for (const auto& name : {coadd_path({}, spec, g), redrock_path({}, spec, g)}) {
        const std::string a = slurp(parallel / name), b = slurp(serial / name);
        EXPECT_GT(a.size(), 1000u) << name;
        EXPECT_TRUE(a == b) << name << " differs between " << world.size() << " ranks and 1";
      }
    }
    const std::string ta = slurp(parallel / "truth.csv"), tb = slurp(serial / "truth.csv");
    EXPECT_EQ(ta, tb);
    EXPECT_EQ(std::count(ta.begin(), ta.end(), '\n'), 31);
  }
  world.barrier();
  if (world.rank() == 0) std::filesystem::remove_all(base);
}

}  // namespace
