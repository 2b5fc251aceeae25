// Process start-up for every stage: MPI with world and node-local ranks, the GPU this rank
// uses (when CUDA is built and a device is present), logging and the abort handler.
#pragma once

#include <memory>

#include "specvae/dist/communicator.hpp"

namespace specvae {

struct DistributedContext {
  int world_rank = 0;
  int world_size = 1;
  int local_rank = 0;  // rank within the node (MPI_Comm_split_type SHARED)
  int local_size = 1;
  int gpu_device = -1;  // CUDA device chosen for this rank, -1 for none
  std::unique_ptr<MpiCommunicator> world;
};

// Initialises MPI (thread level FUNNELED) once per process; later calls return the same
// context. Installs MPI_Abort as the failure path of the check family.
DistributedContext& init_distributed(int* argc, char*** argv);
// MPI_Finalize, when init_distributed() initialised MPI.
void finalize_distributed();
// Ends the whole job: MPI_Abort when MPI is up, else exit.
[[noreturn]] void abort_job(int exit_code);

}  // namespace specvae
