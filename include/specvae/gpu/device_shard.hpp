// A rank's training rows on its GPU: flux x and weights w (rows × n_cols floats each) are
// kept resident in device memory when they fit the budget, and otherwise streamed — each
// batch gathered on the host into pinned memory and copied asynchronously. Either way a
// batch of arbitrary (shuffled) local rows lands in device buffers on the caller's stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace specvae::gpu {

class DeviceShard {
 public:
  // x, w: host arrays that must outlive the shard when it streams (they are not copied).
  // budget_bytes: device memory the shard may take; 0 = 70 % of the free memory. When the
  // allocation fails all the same, the shard streams.
  DeviceShard(int device, const float* x, const float* w, std::int64_t rows, int n_cols, std::size_t budget_bytes = 0);
  ~DeviceShard();
  DeviceShard(const DeviceShard&) = delete;
  DeviceShard& operator=(const DeviceShard&) = delete;

  bool resident() const;
  // The rows fitted the budget but the allocation failed (another rank took the memory
  // first): they are streamed instead.
  bool streams_for_lack_of_memory() const;
  std::int64_t rows() const;
  int n_cols() const;
  // Copies rows local_rows[0..count) into dst_x, dst_w (device, count × n_cols), enqueued
  // on stream (a cudaStream_t; null = the shard's own). Returns when the host side may
  // reuse its buffers; the device copies complete in stream order.
  void gather(std::span<const std::int64_t> local_rows, float* dst_x, float* dst_w, void* stream);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace specvae::gpu
