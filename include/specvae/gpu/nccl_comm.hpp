// NCCL from MPI ranks: rank 0 makes the NCCL unique id, the communicator broadcasts it, and
// every rank joins an NcclAllReduce on its GPU (part of specvae_lib: needs a Communicator).
#pragma once

#include <memory>

#include "specvae/dist/communicator.hpp"
#include "specvae/gpu/nccl_allreduce.hpp"

namespace specvae::gpu {

// Collective over comm: every rank calls it with the GPU it computes on.
std::unique_ptr<NcclAllReduce> make_nccl_allreduce(Communicator& comm, int device);

}  // namespace specvae::gpu
