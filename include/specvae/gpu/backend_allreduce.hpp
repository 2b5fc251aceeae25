// Sums a flat buffer in a backend's memory (the gradient, with the batch loss appended) over
// the ranks, wherever it lives: host memory through the Communicator (MPI); CUDA device
// memory through NCCL on its own stream (one rank per GPU), or staged through the host when
// ranks share a GPU (the in-process communicator of unit tests, oversubscribed nodes).
// The trainer's one all-reduce per step: `reduce.sum(grads, n_params + 1)`.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "specvae/dist/communicator.hpp"
#include "specvae/model/backend.hpp"

namespace specvae::gpu {

class NcclAllReduce;

class BackendAllReduce {
 public:
  // Collective over comm (chooses the method from where every rank's backend lives).
  BackendAllReduce(Communicator& comm, model::Backend& backend);
  ~BackendAllReduce();
  BackendAllReduce(const BackendAllReduce&) = delete;
  BackendAllReduce& operator=(const BackendAllReduce&) = delete;

  // Collective: data (n floats in the backend's memory) ← Σ over ranks, in place. With NCCL
  // the sum is ordered on the backend's compute stream (later ops see the result).
  void sum(float* data, std::size_t n);
  // "host", "nccl" or "staged".
  const std::string& method() const { return method_; }

 private:
  Communicator& comm_;
  model::Backend& backend_;
  std::string method_;
  std::shared_ptr<NcclAllReduce> nccl_;  // shared_ptr: complete type only where created
  std::vector<float> staging_;
};

}  // namespace specvae::gpu
