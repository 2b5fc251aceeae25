// The gradient all-reduce between GPUs with NCCL (llm.c's zero.cuh pattern): one NCCL
// communicator per rank, the sum enqueued on its own communication stream after an event
// from the compute stream, and the compute stream made to wait for the result. No MPI here
// (the unique id arrives as bytes), so the GPU test binary can use it; creating the id and
// broadcasting it over MPI is nccl_comm.hpp's job.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <vector>

namespace specvae::gpu {

// ncclUniqueId as plain bytes (NCCL_UNIQUE_ID_BYTES = 128).
using NcclUniqueIdBytes = std::array<char, 128>;

class NcclAllReduce {
 public:
  // A new unique id (call on one rank, then broadcast it to all).
  static NcclUniqueIdBytes make_unique_id();
  // Collective over the `size` ranks holding the same id; binds `device` to this rank.
  NcclAllReduce(const NcclUniqueIdBytes& id, int rank, int size, int device);
  // One process driving several GPUs (tests, single-node benchmarks): ncclCommInitAll.
  static std::vector<std::unique_ptr<NcclAllReduce>> create_all(const std::vector<int>& devices);
  ~NcclAllReduce();
  NcclAllReduce(const NcclAllReduce&) = delete;
  NcclAllReduce& operator=(const NcclAllReduce&) = delete;

  int rank() const;
  int size() const;
  int device() const;

  // In place: data (device, n floats) ← Σ over ranks. Runs on this rank's communication
  // stream after the work already queued on compute_stream (a cudaStream_t), and makes
  // compute_stream wait for it: the caller just keeps enqueuing on compute_stream.
  // With several ranks in one process, call it for every rank inside group_start/group_end.
  void allreduce_sum(float* data, std::size_t n, void* compute_stream);
  static void group_start();
  static void group_end();

 private:
  NcclAllReduce();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace specvae::gpu
