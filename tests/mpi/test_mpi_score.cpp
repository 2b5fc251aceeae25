// score and merge under mpiexec: the catalogue of P ranks is identical to that of 1 rank
// (MPI_COMM_SELF on rank 0), and LOF over MPI with a rank that owns no rows equals the
// one-process LOF.
#include <cstdlib>
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <filesystem>
#include <functional>
#include <unistd.h>

#include <fmt/format.h>

#include "../unit/test_score_fixture.hpp"
#include "specvae/core/config.hpp"
#include "specvae/core/error.hpp"
#include "specvae/dist/distributed.hpp"
#include "specvae/dist/shard_plan.hpp"
#include "specvae/io/hdf5.hpp"
#include "specvae/merge/merge.hpp"
#include "specvae/io/h5_columns.hpp"
#include "specvae/score/lof.hpp"
#include "specvae/score/score.hpp"

using namespace specvae;
namespace fs = std::filesystem;

namespace {

MpiCommunicator& world() { return *init_distributed(nullptr, nullptr).world; }

// A folder every rank agrees on (rank 0's pid).
fs::path shared_dir(const std::string& name) {
  std::int64_t pid = ::getpid();
  world().broadcast(std::span<std::int64_t>(&pid, 1), 0);
  const fs::path d = fs::temp_directory_path() / fmt::format("specvae_mpi_score_{}_{}_np{}", name, pid, world().size());
  if (world().rank() == 0) {
    fs::remove_all(d);
    fs::create_directories(d);
  }
  world().barrier();
  return d;
}

template <typename T>
std::vector<T> column(const fs::path& file, const std::string& name, std::int64_t n, int cols = 0) {
  h5::Handle f = h5::open_file(MPI_COMM_NULL, file);
  return h5col::read<T>(f, name, n, cols, file);
}

// data.h5 (N rows of score_test::small_rows, M bins, written collectively, each rank its
// ShardPlan block, `edit` applied to it first) and model.h5 (written by rank 0) in dir.
void write_data_and_model(const fs::path& dir, std::int64_t N, int M,
                          const std::function<void(DatasetRows&)>& edit = {}) {
  MpiCommunicator& comm = world();
  const ShardPlan plan(N, comm.size());
  DatasetProvenance prov;
  for (int j = 0; j < M; ++j) prov.wave.push_back(3600.0 + 4.0 * j);
  prov.wave_min = 3598;
  prov.wave_max = 3600 + 4.0 * M - 2;
  prov.selection = "test";
  DatasetRows rows = score_test::small_rows(plan.begin(comm.rank()), plan.count(comm.rank()), M);
  if (edit) edit(rows);
  write_dataset(comm.handle(), dir / "data.h5", rows, prov, true);
  if (comm.rank() == 0) {
    model::Checkpoint c;
    c.shape = score_test::small_shape(M);
    c.params = model::initial_parameters(c.shape, 9);
    c.config_hash = "test";
    model::save_checkpoint(dir / "model.h5", c);
  }
  comm.barrier();
}

}  // namespace

TEST(MpiScore, CatalogueIsIdenticalForOneAndManyRanks) {
  MpiCommunicator& comm = world();
  const int P = comm.size(), r = comm.rank();
  const fs::path dir = shared_dir("catalogue");
  const int M = 32;
  const std::int64_t N = 90;
  const ShardPlan plan(N, P);
  write_data_and_model(dir, N, M);

  Config cfg = Config::defaults();
  cfg.set("train.backend=cpu");
  cfg.set("train.threads=1");
  cfg.set("score.recon_samples=3");
  cfg.set("score.batch_size=16");
  cfg.set("score.lof_k=10");
  const score::ScoreOptions many{dir / "data.h5", dir / "model.h5", dir / "score_many"};
  const score::ScoreResult s = score::run_score(StageContext(cfg, comm), many);
  EXPECT_EQ(s.rows_total, N);
  EXPECT_EQ(s.rows_local, plan.count(r));
  if (r == 0) {
    MpiCommunicator self(MPI_COMM_SELF);
    score::run_score(StageContext(cfg, self), {dir / "data.h5", dir / "model.h5", dir / "score_one"});
    EXPECT_EQ(score::find_score_shards(dir / "score_many").size(), static_cast<std::size_t>(P));
    const auto a = merge::run_merge(StageContext(cfg), {dir / "score_many", {}, dir / "cat_many", {}});
    const auto b = merge::run_merge(StageContext(cfg), {dir / "score_one", {}, dir / "cat_one", {}});
    for (const char* name : {"mse", "recon_logprob", "nof", "pca_mse", "combined"})
      EXPECT_EQ(column<double>(a.hdf5, name, N), column<double>(b.hdf5, name, N)) << name;
    for (const char* name : {"targetid", "rank_mse", "rank_recon_logprob", "rank_nof", "rank_pca_mse", "rank_combined"})
      EXPECT_EQ(column<std::int64_t>(a.hdf5, name, N), column<std::int64_t>(b.hdf5, name, N)) << name;
    EXPECT_EQ(column<float>(a.hdf5, "latent_mu", N, 3), column<float>(b.hdf5, "latent_mu", N, 3));
    // The odd spectra (row % 17 == 5) lead the MSE ranking.
    const auto rank = column<std::int64_t>(a.hdf5, "rank_mse", N);
    EXPECT_LE(rank[5], 6);

    // pca_mse is what the stored yardstick gives, computed here directly from the dataset:
    // x̂ = mean + Σ_k ((x − mean)·e_k) e_k, (1/M) Σ w (x − x̂)², w = ivar, 0 where masked;
    // the eigenspectra are orthonormal.
    h5::Handle f = h5::open_file(MPI_COMM_NULL, a.hdf5);
    const std::int64_t K = h5::read_attr_int(f, "pca_components");
    EXPECT_EQ(K, cfg.get_int("score.pca_components") < M ? cfg.get_int("score.pca_components") : M);
    const auto mean = h5col::read<double>(f, "pca_mean", M, 0, a.hdf5);
    const auto ev = h5col::read<double>(f, "pca_eigenspectra", K, M, a.hdf5);
    for (std::int64_t p = 0; p < K; ++p)
      for (std::int64_t q = 0; q < K; ++q) {
        double dot = 0;
        for (int j = 0; j < M; ++j) dot += ev[p * M + j] * ev[q * M + j];
        EXPECT_NEAR(dot, p == q ? 1.0 : 0.0, 1e-9) << p << "," << q;
      }
    const DatasetRows all = score_test::small_rows(0, N, M);
    const auto got = column<double>(a.hdf5, "pca_mse", N);
    for (std::int64_t i = 0; i < N; ++i) {
      std::vector<double> res(M);
      for (int j = 0; j < M; ++j) res[j] = all.flux[i * M + j] - mean[j];
      const std::vector<double> d = res;
      for (std::int64_t k = 0; k < K; ++k) {
        double c = 0;
        for (int j = 0; j < M; ++j) c += d[j] * ev[k * M + j];
        for (int j = 0; j < M; ++j) res[j] -= c * ev[k * M + j];
      }
      double want = 0;
      for (int j = 0; j < M; ++j) want += (all.mask[i * M + j] ? 0.0 : all.ivar[i * M + j]) * res[j] * res[j];
      want /= M;
      EXPECT_NEAR(got[i], want, 1e-9 * want + 1e-12) << "row " << i;
    }
  }
  comm.barrier();
  if (r == 0) fs::remove_all(dir);
}

TEST(MpiScore, LofWithAnEmptyRankEqualsOneProcess) {
  MpiCommunicator& comm = world();
  const int P = comm.size(), r = comm.rank();
  const std::int64_t n = 300;
  const int d = 10;
  std::vector<float> x(n * d);
  for (std::int64_t i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) x[i * d + j] = static_cast<float>(((i * 7919 + j * 104729) % 1000) / 100.0 + (i % 3) * 5);
  const score::LofResult ref = score::lof(x, n, d, 20, score::KnnMethod::KdTree, 1);
  const ShardPlan plan(n, P - 1);  // the last rank owns no rows
  const std::int64_t begin = r < P - 1 ? plan.begin(r) : n, count = r < P - 1 ? plan.count(r) : 0;
  const score::LofResult got =
      score::distributed_lof(comm, std::span<const float>(x.data() + begin * d, count * d), d, 20,
                             score::KnnMethod::KdTree, 1);
  ASSERT_EQ(got.nof.size(), static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) EXPECT_DOUBLE_EQ(got.nof[i], ref.nof[begin + i]) << "row " << begin + i;
}

TEST(MpiScore, ANonFiniteFluxStopsEveryRankNamingTheRow) {
  // Row 37's flux holds an infinity (a dataset not written by ingest): the rank that reads it
  // says which row, and every other rank stops too instead of waiting in a collective.
  MpiCommunicator& comm = world();
  const int r = comm.rank();
  const fs::path dir = shared_dir("infflux");
  const int M = 32;
  write_data_and_model(dir, 60, M, [&](DatasetRows& rows) {
    for (std::int64_t i = 0; i < rows.count; ++i)
      if (rows.begin + i == 37) rows.flux[static_cast<std::size_t>(i) * M + 3] = INFINITY;
  });
  Config cfg = Config::defaults();
  cfg.set("train.backend=cpu");
  cfg.set("train.threads=1");
  cfg.set("score.lof_k=10");
  const ShardPlan plan(60, comm.size());
  const bool mine = plan.begin(r) <= 37 && 37 < plan.begin(r) + plan.count(r);
  try {
    score::run_score(StageContext(cfg, comm), {dir / "data.h5", dir / "model.h5", dir / "score"});
    ADD_FAILURE() << "an infinite flux was scored";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    if (mine) EXPECT_NE(msg.find("/flux row 37 (TARGETID 39627000000000259) bin 3 is inf"), std::string::npos) << msg;
    else EXPECT_NE(msg.find("another rank found a bad row"), std::string::npos) << msg;
  }
  comm.barrier();
  if (r == 0) fs::remove_all(dir);
}

TEST(MpiScore, ANonFiniteLatentMeanStopsEveryRankNamingTheSpectrum) {
  // Row 37's flux is finite but as large as a float gets (a dataset not written by ingest):
  // its latent mean is not finite. Every rank stops with the same error, naming its TARGETID,
  // before the neighbour search (which used to abort with "kNN returned index -1").
  MpiCommunicator& comm = world();
  const int r = comm.rank();
  const fs::path dir = shared_dir("nonfinite");
  const int M = 32;
  write_data_and_model(dir, 60, M, [&](DatasetRows& rows) {
    for (std::int64_t i = 0; i < rows.count; ++i)
      if (rows.begin + i == 37)
        for (int b = 0; b < M; ++b) rows.flux[static_cast<std::size_t>(i) * M + b] = FLT_MAX;
  });
  Config cfg = Config::defaults();
  cfg.set("train.backend=cpu");
  cfg.set("train.threads=1");
  cfg.set("score.lof_k=10");
  try {
    score::run_score(StageContext(cfg, comm), {dir / "data.h5", dir / "model.h5", dir / "score"});
    ADD_FAILURE() << "a non-finite latent mean was scored";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("non-finite latent mean"), std::string::npos) << msg;
    EXPECT_NE(msg.find("TARGETID 39627000000000259 (row 37"), std::string::npos) << msg;
  }
  comm.barrier();
  if (r == 0) fs::remove_all(dir);
}

TEST(MpiScore, AShardOneRankCannotWriteKeepsThePreviousSet) {
  // The last rank cannot write its shard (a folder sits where its file goes): every rank stops
  // with an error, and the shards of the previous score are all still there, unchanged; no
  // rank's new shard replaces its old one.
  MpiCommunicator& comm = world();
  const int P = comm.size(), r = comm.rank();
  const fs::path dir = shared_dir("commit");
  write_data_and_model(dir, 60, 32);
  Config cfg = Config::defaults();
  cfg.set("train.backend=cpu");
  cfg.set("train.threads=1");
  cfg.set("score.lof_k=10");
  const score::ScoreOptions o{dir / "data.h5", dir / "model.h5", dir / "score"};
  score::run_score(StageContext(cfg, comm), o);
  const auto before = fs::last_write_time(score::score_shard_path(o.out_dir, r));
  const std::string fault = fmt::format("score.write_shard@{}", P - 1);  // the last rank cannot write
  ::setenv("SPECVAE_FAULT", fault.c_str(), 1);
  try {
    score::run_score(StageContext(cfg, comm), o);
    ADD_FAILURE() << "a score whose last shard could not be written succeeded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("the previous shards are kept"), std::string::npos) << e.what();
  }
  ::unsetenv("SPECVAE_FAULT");
  comm.barrier();
  EXPECT_EQ(score::find_score_shards(o.out_dir).size(), static_cast<std::size_t>(P));
  EXPECT_EQ(fs::last_write_time(score::score_shard_path(o.out_dir, r)), before);
  // Nothing of the failed attempt is left: no staging folder, no temporary file.
  if (r == 0) {
    for (const auto& e : fs::directory_iterator(o.out_dir)) {
      EXPECT_TRUE(e.path().filename().string().starts_with("score-shard-")) << e.path();
    }
  }
  comm.barrier();
  if (r == 0) fs::remove_all(dir);
}
