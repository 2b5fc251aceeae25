// The NCCL unique id, broadcast over the ranks' Communicator (MPI in jobs), then one
// NcclAllReduce per rank (see specvae/gpu/nccl_comm.hpp).
#include "specvae/gpu/nccl_comm.hpp"

#include <span>

namespace specvae::gpu {

std::unique_ptr<NcclAllReduce> make_nccl_allreduce(Communicator& comm, int device) {
  NcclUniqueIdBytes id{};
  if (comm.rank() == 0) id = NcclAllReduce::make_unique_id();
  comm.broadcast(std::span<char>(id.data(), id.size()), 0);
  return std::make_unique<NcclAllReduce>(id, comm.rank(), comm.size(), device);
}

}  // namespace specvae::gpu
