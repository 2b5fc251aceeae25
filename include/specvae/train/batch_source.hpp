// Where a training step's rows come from, decided once by the backend's kind (ARCHITECTURE.md,
// the seam): this rank's rows in host memory, converted to the model's units as they are
// gathered, straight into host backend memory or staged and uploaded; or, on a CUDA backend
// with train.device_shard, a gpu::DeviceShard holding them on the GPU (resident, or streamed
// through pinned memory) and gathering there.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "specvae/model/backend.hpp"
#include "specvae/model/vae.hpp"

namespace specvae::train {

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // Rows `rows` (indices into this rank's training rows) into x and w: [rows × n_input]
  // floats in the backend's memory, in the model's units.
  virtual void gather(std::span<const std::int64_t> rows, float* x, float* w) = 0;
};

// x, w: this rank's training rows (rows × n_input, raw units) and `scaling`: the source keeps
// references to them. The scaling must be final (a resumed run's is the checkpoint's). device_shard: keep the
// rows on the backend's GPU (a CUDA backend only): they are converted to the model's units in
// place and copied there once. threads: host loops; rank: for the log.
std::unique_ptr<BatchSource> make_batch_source(model::Backend& backend, std::vector<float>& x, std::vector<float>& w,
                                               std::int64_t rows, int n_input, const model::InputScaling& scaling,
                                               bool device_shard, int threads, int rank);

}  // namespace specvae::train
