// What every stage runs with: the resolved configuration, the ranks that run it and where this
// rank is (ranks on its node, its GPU). Every stage is
//   <Stage>Result run_<stage>(const StageContext& ctx, const <Stage>Options& options)
// (ARCHITECTURE.md). Simulate, ingest, train and score are collective over ctx.comm(); merge,
// learn and report run on one process (the pipeline calls them on rank 0 while the others
// wait) and take a context made without a communicator.
#pragma once

#include "specvae/core/config.hpp"
#include "specvae/dist/communicator.hpp"

namespace specvae {

class StageContext {
 public:
  // One process, no communicator: merge, learn, report, and tests of them.
  explicit StageContext(const Config& config) : config_(&config) {}
  // Collective over `comm`, any communicator (MPI's or an in-process one in tests).
  StageContext(const Config& config, Communicator& comm, int local_size = 1, int gpu_device = -1)
      : config_(&config), comm_(&comm), local_size_(local_size), gpu_device_(gpu_device) {}
  // Collective over MPI ranks: also what parallel HDF5 needs (ingest, score, train's reads).
  StageContext(const Config& config, MpiCommunicator& comm, int local_size = 1, int gpu_device = -1)
      : config_(&config), comm_(&comm), mpi_(&comm), local_size_(local_size), gpu_device_(gpu_device) {}
  // This process in MPI's world (init_distributed): its node-local rank count and GPU.
  static StageContext world(const Config& config);

  const Config& config() const { return *config_; }
  // The ranks running the stage (a failed check for a context made without one).
  Communicator& comm() const;
  // The same, as MPI's communicator (a failed check for an in-process one).
  MpiCommunicator& mpi() const;
  // Ranks on this rank's node (for the memory checks).
  int local_size() const { return local_size_; }
  // This rank's CUDA device (-1: none).
  int gpu_device() const { return gpu_device_; }

 private:
  const Config* config_;
  Communicator* comm_ = nullptr;
  MpiCommunicator* mpi_ = nullptr;
  int local_size_ = 1;
  int gpu_device_ = -1;
};

}  // namespace specvae
