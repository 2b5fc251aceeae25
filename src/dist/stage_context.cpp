// The stage context's process-wide form and its checked accessors.
#include "specvae/dist/stage_context.hpp"

#include "specvae/core/error.hpp"
#include "specvae/dist/distributed.hpp"

namespace specvae {

StageContext StageContext::world(const Config& config) {
  DistributedContext& d = init_distributed(nullptr, nullptr);
  return StageContext(config, *d.world, d.local_size, d.gpu_device);
}

Communicator& StageContext::comm() const {
  SPECVAE_CHECK(comm_ != nullptr, "a collective stage was given a context without a communicator");
  return *comm_;
}

MpiCommunicator& StageContext::mpi() const {
  SPECVAE_CHECK(mpi_ != nullptr, "this stage reads or writes parallel HDF5: it needs MPI's communicator, not an in-process one");
  return *mpi_;
}

}  // namespace specvae
