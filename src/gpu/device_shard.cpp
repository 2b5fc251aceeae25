// DeviceShard (see specvae/gpu/device_shard.hpp): resident rows gathered by a kernel, or
// streamed through a pinned staging buffer whose reuse waits on the previous copy's event.
#include "specvae/gpu/device_shard.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cuda_buffer.hpp"
#include "cuda_check.cuh"
#include "gather_ops.h"
#include "specvae/core/error.hpp"

namespace specvae::gpu {

struct DeviceShard::Impl {
  int device = 0;
  const float* host_x = nullptr;
  const float* host_w = nullptr;
  std::int64_t rows = 0;
  int n_cols = 0;
  bool resident = false;
  bool fell_back = false;  // meant to be resident, but the allocation failed
  cudaStream_t own_stream = nullptr;
  CudaBuffer<float> dev_x, dev_w;       // resident copies
  CudaBuffer<std::int64_t> dev_rows;    // row list of the current batch
  CudaBuffer<float> pinned;             // streaming: x rows then w rows of one batch
  CudaBuffer<std::int64_t> pinned_rows;
  std::size_t pinned_capacity = 0;  // rows
  cudaEvent_t staged_free = nullptr;  // the last copies out of the pinned buffers completed
};

DeviceShard::DeviceShard(int device, const float* x, const float* w, std::int64_t rows, int n_cols,
                         std::size_t budget_bytes)
    : impl_(std::make_unique<Impl>()) {
  SPECVAE_CHECK(rows >= 0 && n_cols > 0, "DeviceShard: {} rows of {} columns", rows, n_cols);
  auto& s = *impl_;
  s.device = device;
  s.host_x = x;
  s.host_w = w;
  s.rows = rows;
  s.n_cols = n_cols;
  SPECVAE_CUDA_CHECK(cudaSetDevice(device));
  SPECVAE_CUDA_CHECK(cudaStreamCreateWithFlags(&s.own_stream, cudaStreamNonBlocking));
  SPECVAE_CUDA_CHECK(cudaEventCreateWithFlags(&s.staged_free, cudaEventDisableTiming));
  if (budget_bytes == 0) {
    std::size_t free_b = 0, total_b = 0;
    SPECVAE_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    budget_bytes = free_b / 10 * 7;  // leave 30 % for the model, activations and cuBLAS
  }
  const std::size_t bytes = 2 * static_cast<std::size_t>(rows) * static_cast<std::size_t>(n_cols) * sizeof(float);
  s.resident = bytes <= budget_bytes;
  if (s.resident && rows > 0) {
    const std::size_t half = bytes / 2, count = static_cast<std::size_t>(rows) * static_cast<std::size_t>(n_cols);
    // Ranks that share a GPU measure its free memory at the same moment and may all decide to
    // keep their rows on it: an allocation that fails is not fatal, the rows are streamed.
    s.dev_x = CudaBuffer<float>::try_device(count);
    if (s.dev_x) s.dev_w = CudaBuffer<float>::try_device(count);
    if (!s.dev_w) {
      s.dev_x = CudaBuffer<float>();
      s.resident = false;
      s.fell_back = true;
    } else {
      // On this stream and waited for: a pageable-memory cudaMemcpy may return before its
      // last chunk lands, and the gathers run on other (non-blocking) streams.
      SPECVAE_CUDA_CHECK(cudaMemcpyAsync(s.dev_x.get(), x, half, cudaMemcpyHostToDevice, s.own_stream));
      SPECVAE_CUDA_CHECK(cudaMemcpyAsync(s.dev_w.get(), w, half, cudaMemcpyHostToDevice, s.own_stream));
      SPECVAE_CUDA_CHECK(cudaStreamSynchronize(s.own_stream));
    }
  }
}

DeviceShard::~DeviceShard() {
  if (!impl_) return;
  auto& s = *impl_;
  cudaSetDevice(s.device);
  cudaDeviceSynchronize();  // callers' streams may still read the staging buffers
  s.dev_x = {};
  s.dev_w = {};
  s.dev_rows = {};
  s.pinned = {};
  s.pinned_rows = {};
  cudaEventDestroy(s.staged_free);
  cudaStreamDestroy(s.own_stream);
}

bool DeviceShard::resident() const { return impl_->resident; }
bool DeviceShard::streams_for_lack_of_memory() const { return impl_->fell_back; }
std::int64_t DeviceShard::rows() const { return impl_->rows; }
int DeviceShard::n_cols() const { return impl_->n_cols; }

void DeviceShard::gather(std::span<const std::int64_t> local_rows, float* dst_x, float* dst_w, void* stream_ptr) {
  auto& s = *impl_;
  const auto stream = stream_ptr ? static_cast<cudaStream_t>(stream_ptr) : s.own_stream;
  const std::size_t count = local_rows.size();
  if (count == 0) return;
  for (std::int64_t r : local_rows) SPECVAE_CHECK(r >= 0 && r < s.rows, "DeviceShard: row {} of {}", r, s.rows);
  SPECVAE_CUDA_CHECK(cudaSetDevice(s.device));
  const std::size_t n = static_cast<std::size_t>(s.n_cols);
  if (count > s.pinned_capacity) {
    // Grow the pinned buffers (after the copies still reading them have finished).
    SPECVAE_CUDA_CHECK(cudaEventSynchronize(s.staged_free));
    s.pinned.reset();
    s.pinned_rows.reset();
    s.pinned_capacity = std::max<std::size_t>(count, 512);
    s.pinned_rows = CudaBuffer<std::int64_t>::pinned(s.pinned_capacity);
    if (!s.resident) s.pinned = CudaBuffer<float>::pinned(2 * s.pinned_capacity * n);
    s.dev_rows.reset();
    s.dev_rows = CudaBuffer<std::int64_t>::device(s.pinned_capacity);
  }
  // The previous batch's copies must be done before the staging buffers are rewritten.
  SPECVAE_CUDA_CHECK(cudaEventSynchronize(s.staged_free));
  if (s.resident) {
    std::memcpy(s.pinned_rows.get(), local_rows.data(), count * sizeof(std::int64_t));
    SPECVAE_CUDA_CHECK(cudaMemcpyAsync(s.dev_rows.get(), s.pinned_rows.get(), count * sizeof(std::int64_t),
                                       cudaMemcpyHostToDevice, stream));
    kernels::launch_gather_rows(s.dev_x.get(), s.dev_rows.get(), static_cast<std::int64_t>(count), s.n_cols, dst_x, stream);
    kernels::launch_gather_rows(s.dev_w.get(), s.dev_rows.get(), static_cast<std::int64_t>(count), s.n_cols, dst_w, stream);
  } else {
    float* px = s.pinned.get();
    float* pw = px + count * n;
    for (std::size_t r = 0; r < count; ++r) {
      const std::size_t src = static_cast<std::size_t>(local_rows[r]) * n;
      std::memcpy(px + r * n, s.host_x + src, n * sizeof(float));
      std::memcpy(pw + r * n, s.host_w + src, n * sizeof(float));
    }
    SPECVAE_CUDA_CHECK(cudaMemcpyAsync(dst_x, px, count * n * sizeof(float), cudaMemcpyHostToDevice, stream));
    SPECVAE_CUDA_CHECK(cudaMemcpyAsync(dst_w, pw, count * n * sizeof(float), cudaMemcpyHostToDevice, stream));
  }
  SPECVAE_CUDA_CHECK(cudaEventRecord(s.staged_free, stream));
}

}  // namespace specvae::gpu
