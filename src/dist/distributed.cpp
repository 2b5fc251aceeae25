// init_distributed(): MPI start-up, node-local ranks, GPU choice, the abort path and the
// launcher watch.
#include "specvae/dist/distributed.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/gpu/resources.hpp"

namespace specvae {
namespace {
DistributedContext* g_context = nullptr;
bool g_we_initialised_mpi = false;

void mpi_abort_handler(int code) {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  if (initialised && !finalised) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

// A rank whose launcher dies (`kill -9 mpirun`, a lost node daemon) is orphaned: it stops within
// ≈ 0.1 s instead of running on, and writing files, until MPI notices. Only under a launcher
// (Open MPI, PMI, PMIx, Slurm): a singleton's parent is a shell it may rightly outlive.
void watch_launcher(int rank) {
  const bool launched = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_RANK") ||
                        std::getenv("SLURM_STEP_ID");
  if (!launched) return;
  const pid_t parent = ::getppid();
  std::thread([parent, rank] {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (::getppid() != parent) {
        std::fprintf(stderr, "specvae: rank %d: its launcher (pid %d) is gone; stopping\n", rank, static_cast<int>(parent));
        std::fflush(stderr);
        std::_Exit(143);
      }
    }
  }).detach();
}
}  // namespace

DistributedContext& init_distributed(int* argc, char*** argv) {
  if (g_context) return *g_context;
  int initialised = 0;
  SPECVAE_MPI_CHECK(MPI_Initialized(&initialised));
  if (!initialised) {
    int provided = 0;
    SPECVAE_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
    g_we_initialised_mpi = true;
  }
  // Errors come back as codes and go through SPECVAE_MPI_CHECK, which aborts every rank.
  SPECVAE_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));

  auto* ctx = new DistributedContext();
  ctx->world = std::make_unique<MpiCommunicator>(MPI_COMM_WORLD);
  ctx->world_rank = ctx->world->rank();
  ctx->world_size = ctx->world->size();
  set_error_rank(ctx->world_rank);
  set_abort_handler(&mpi_abort_handler);

  MPI_Comm local = MPI_COMM_NULL;
  SPECVAE_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, ctx->world_rank, MPI_INFO_NULL, &local));
  SPECVAE_MPI_CHECK(MPI_Comm_rank(local, &ctx->local_rank));
  SPECVAE_MPI_CHECK(MPI_Comm_size(local, &ctx->local_size));
  SPECVAE_MPI_CHECK(MPI_Comm_free(&local));

  // One GPU per rank on a node: local rank r takes device r mod (devices on the node).
  int devices = gpu_device_count();
  ctx->gpu_device = devices > 0 ? ctx->local_rank % devices : -1;
  set_rank_gpu(ctx->gpu_device);
  watch_launcher(ctx->world_rank);
  g_context = ctx;
  return *ctx;
}

void finalize_distributed() {
  if (!g_context) return;
  g_context->world.reset();
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (g_we_initialised_mpi && !finalised) MPI_Finalize();
  delete g_context;
  g_context = nullptr;
  set_rank_gpu(-1);
}

void abort_job(int exit_code) {
  std::fflush(stdout);
  std::fflush(stderr);
  mpi_abort_handler(exit_code);
  std::_Exit(exit_code);
}

}  // namespace specvae
