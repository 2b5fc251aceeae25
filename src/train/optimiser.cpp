// The optimiser's two paths (see specvae/train/optimiser.hpp).
#include "specvae/train/optimiser.hpp"

#include <algorithm>
#include <span>

namespace specvae::train {

Optimiser::Optimiser(Communicator& comm, model::Backend& backend, std::size_t n_params, bool shard)
    : comm_(comm), be_(backend), n_(n_params), reduce_(std::make_unique<gpu::BackendAllReduce>(comm, backend)) {
  shard_ = shard && backend.host_memory() && comm.size() > 1;
  if (!shard_) return;
  // Chunks of whole 64-byte lines, the last rank's the remainder (possibly empty).
  const auto P = static_cast<std::size_t>(comm.size());
  const std::size_t chunk = ((n_ + P - 1) / P + 15) / 16 * 16;
  for (std::size_t r = 0, first = 0; r < P; ++r) {
    const std::size_t n = std::min(chunk, n_ - std::min(n_, first));
    if (r == static_cast<std::size_t>(comm.rank())) first_ = first;
    counts_.push_back(n);
    first += n;
  }
}

void Optimiser::all_reduce(float* grads) {
  // Wherever the buffer lives: MPI on host memory, NCCL (or staged) on device memory.
  if (comm_.size() > 1) reduce_->sum(grads, n_ + 1);
}

std::array<double, 2> Optimiser::step(float* params, float* grads, float* m, float* v, float local_loss,
                                      const model::AdamParams& adam) {
  double check[2] = {0, 0};  // Σ g² over the whole gradient, the mean batch loss
  if (!shard_) {
    // The batch loss rides in the gradient's last slot: one all-reduce carries both.
    be_.upload(grads + n_, &local_loss, 1);
    all_reduce(grads);
    check[0] = be_.adam_step_checked(params, grads, m, v, n_, adam);
    float loss = 0;
    be_.download(&loss, grads + n_, 1);
    check[1] = loss;
    return {check[0], check[1]};
  }
  comm_.reduce_scatter_sum(std::span<float>(grads, n_), counts_);
  const std::size_t f = first_, n = counts_[static_cast<std::size_t>(comm_.rank())];
  check[0] = be_.adam_step_checked(params + f, grads + f, m + f, v + f, n, adam);
  check[1] = local_loss;
  comm_.allreduce_sum(std::span<double>(check, 2));  // Σ g² over the chunks; the loss over the ranks
  comm_.allgather_in_place(std::span<float>(params, n_), counts_);
  return {check[0], check[1]};
}

void Optimiser::gather_moments(float* m, float* v) {
  if (!shard_) return;
  comm_.allgather_in_place(std::span<float>(m, n_), counts_);
  comm_.allgather_in_place(std::span<float>(v, n_), counts_);
}

}  // namespace specvae::train
