// The data-parallel Adam step, two ways behind one type. Replicated: every rank all-reduces the
// whole gradient (MPI on host memory, NCCL between GPUs; the batch loss rides in its last slot)
// and steps every parameter. Sharded (train.shard_optimizer; host-memory backends on more than
// one rank): the gradient is reduce-scattered, each rank steps its own chunk of the parameters
// and of Adam's moments, and the parameters are all-gathered (the moments only for a
// checkpoint). The buffers are the trainer's, in the backend's memory.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <vector>

#include "specvae/dist/communicator.hpp"
#include "specvae/gpu/backend_allreduce.hpp"
#include "specvae/model/backend.hpp"

namespace specvae::train {

class Optimiser {
 public:
  // Collective. n_params: parameters in the flat buffers (the gradient buffer holds one float
  // more: the batch loss). shard: asked for; taken only on a host-memory backend and > 1 rank.
  Optimiser(Communicator& comm, model::Backend& backend, std::size_t n_params, bool shard);

  bool sharded() const { return shard_; }
  // Sums this rank's gradient and its share of the batch loss (grads[n_params]) over the ranks,
  // in place (the replicated path's reduction).
  void all_reduce(float* grads);
  // One Adam step on the ranks' summed gradient, from this rank's gradient in grads and its
  // share of the batch loss: returns {Σ g² of the summed gradient, the batch loss}, the same on
  // every rank, so a NaN on any rank stops all of them at the same step. Every rank's params
  // are the same afterwards.
  std::array<double, 2> step(float* params, float* grads, float* m, float* v, float local_loss,
                             const model::AdamParams& adam);
  // Sharded: every rank gets every chunk of m and v (before a checkpoint). Replicated: nothing
  // to do.
  void gather_moments(float* m, float* v);

 private:
  Communicator& comm_;
  model::Backend& be_;
  std::size_t n_;
  std::unique_ptr<gpu::BackendAllReduce> reduce_;  // the one gradient all-reduce per step
  bool shard_ = false;
  std::vector<std::size_t> counts_;  // parameters per rank's chunk (rank order)
  std::size_t first_ = 0;            // this rank's first parameter
};

}  // namespace specvae::train
