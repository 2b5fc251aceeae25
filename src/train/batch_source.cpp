// The two batch sources: host rows (gathered into the model's units; staged and uploaded for
// a device-memory backend) and the GPU-resident shard.
#include "specvae/train/batch_source.hpp"

#include "specvae/core/log.hpp"
#include "specvae/gpu/device_shard.hpp"

namespace specvae::train {
namespace {

class HostBatches final : public BatchSource {
 public:
  HostBatches(model::Backend& be, const std::vector<float>& x, const std::vector<float>& w, int n_input,
              const model::InputScaling& scaling, int threads)
      : be_(be), x_(x), w_(w), n_input_(n_input), scaling_(scaling), threads_(threads) {}

  void gather(std::span<const std::int64_t> rows, float* x, float* w) override {
    // Straight into backend memory when it is host memory; else staged and uploaded.
    const bool direct = be_.host_memory();
    const std::size_t n = rows.size() * static_cast<std::size_t>(n_input_);
    if (!direct) {
      stage_x_.resize(n);
      stage_w_.resize(n);
    }
    scaling_.gather_to_model(x_.data(), w_.data(), rows, direct ? x : stage_x_.data(), direct ? w : stage_w_.data(),
                             n_input_, threads_);
    if (!direct) {
      be_.upload(x, stage_x_.data(), n);
      be_.upload(w, stage_w_.data(), n);
    }
  }

 private:
  model::Backend& be_;
  const std::vector<float>& x_;
  const std::vector<float>& w_;
  int n_input_;
  const model::InputScaling& scaling_;  // the trainer's: final before the first batch
  int threads_;
  std::vector<float> stage_x_, stage_w_;
};

class DeviceBatches final : public BatchSource {
 public:
  DeviceBatches(model::Backend& be, std::vector<float>& x, std::vector<float>& w, std::int64_t rows, int n_input,
                const model::InputScaling& scaling, int threads, int rank)
      : stream_(be.device_stream()) {
    // The rows in the model's units (the same arithmetic as gather_to_model), then onto the
    // GPU, resident when they fit, else streamed through pinned memory batch by batch.
    scaling.to_model(x.data(), w.data(), rows, n_input, threads);
    shard_ = std::make_unique<gpu::DeviceShard>(be.device(), x.data(), w.data(), rows, n_input);
    log::info("training rows on the GPU: {} ({} rows on rank 0)", shard_->resident() ? "resident" : "streamed", rows);
    if (shard_->streams_for_lack_of_memory())
      log::warn("rank {}: its training rows fitted the GPU's free memory but the allocation failed (ranks sharing "
                "a GPU?); they are streamed through pinned memory instead",
                rank);
  }

  void gather(std::span<const std::int64_t> rows, float* x, float* w) override { shard_->gather(rows, x, w, stream_); }

 private:
  void* stream_;
  std::unique_ptr<gpu::DeviceShard> shard_;
};

}  // namespace

std::unique_ptr<BatchSource> make_batch_source(model::Backend& backend, std::vector<float>& x, std::vector<float>& w,
                                               std::int64_t rows, int n_input, const model::InputScaling& scaling,
                                               bool device_shard, int threads, int rank) {
  if (device_shard && backend.kind() == model::BackendKind::Cuda)
    return std::make_unique<DeviceBatches>(backend, x, w, rows, n_input, scaling, threads, rank);
  return std::make_unique<HostBatches>(backend, x, w, n_input, scaling, threads);
}

}  // namespace specvae::train
