// The GPU layer's one owner of CUDA memory: n elements of T on the device (stream-ordered when
// made with a stream: cudaMallocAsync/cudaFreeAsync; else cudaMalloc/cudaFree) or in pinned
// host memory (cudaMallocHost/cudaFreeHost). Movable, not copyable, freed when it goes; never
// a null pointer once allocated (n = 0 takes one element). A failed allocation is a failed
// check, except through try_device, which comes back empty on cudaErrorMemoryAllocation so
// that the caller can fall back (DeviceShard streams its rows instead).
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

#include <cuda_runtime_api.h>

#include "cuda_check.cuh"

namespace specvae::gpu {

template <typename T>
class CudaBuffer {
 public:
  CudaBuffer() = default;
  static CudaBuffer device(std::size_t n, cudaStream_t stream = nullptr) {
    CudaBuffer b(Where::Device, stream, n);
    SPECVAE_CUDA_CHECK(b.allocate());
    return b;
  }
  static CudaBuffer try_device(std::size_t n) {
    CudaBuffer b(Where::Device, nullptr, n);
    const cudaError_t rc = b.allocate();
    if (rc == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear the (non-sticky) allocation error
      return CudaBuffer();
    }
    SPECVAE_CUDA_CHECK(rc);
    return b;
  }
  static CudaBuffer pinned(std::size_t n) {
    CudaBuffer b(Where::Pinned, nullptr, n);
    SPECVAE_CUDA_CHECK(b.allocate());
    return b;
  }

  ~CudaBuffer() { (void)free_memory(); }
  CudaBuffer(CudaBuffer&& o) noexcept
      : where_(o.where_), stream_(o.stream_), p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  CudaBuffer& operator=(CudaBuffer&& o) noexcept {
    if (this != &o) {
      (void)free_memory();
      where_ = o.where_;
      stream_ = o.stream_;
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;

  T* get() const { return p_; }
  std::size_t size() const { return n_; }
  explicit operator bool() const { return p_ != nullptr; }
  // Frees now, checked (the destructor frees too, but cannot report).
  void reset() { SPECVAE_CUDA_CHECK(free_memory()); }

 private:
  enum class Where { Device, Pinned };
  CudaBuffer(Where where, cudaStream_t stream, std::size_t n) : where_(where), stream_(stream), n_(n) {}

  cudaError_t allocate() {
    const std::size_t bytes = std::max<std::size_t>(n_, 1) * sizeof(T);
    void* p = nullptr;
    const cudaError_t rc = where_ == Where::Pinned ? cudaMallocHost(&p, bytes)
                           : stream_               ? cudaMallocAsync(&p, bytes, stream_)
                                                   : cudaMalloc(&p, bytes);
    p_ = rc == cudaSuccess ? static_cast<T*>(p) : nullptr;
    return rc;
  }
  cudaError_t free_memory() {
    if (!p_) return cudaSuccess;
    void* p = std::exchange(p_, nullptr);
    n_ = 0;
    if (where_ == Where::Pinned) return cudaFreeHost(p);
    return stream_ ? cudaFreeAsync(p, stream_) : cudaFree(p);
  }

  Where where_ = Where::Device;
  cudaStream_t stream_ = nullptr;
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace specvae::gpu
