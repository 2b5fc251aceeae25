// Host-memory plumbing shared by the reference and CPU backends: 64-byte aligned zeroed
// allocations (AVX-512 lines) and plain copies for upload/download.
#pragma once

#include <cstdlib>
#include <cstring>
#include <new>

#include "specvae/model/backend.hpp"

namespace specvae::model {

class HostMemoryBackend : public Backend {
 public:
  bool host_memory() const override { return true; }
  float* allocate(std::size_t n) override {
    const std::size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
    void* p = bytes ? std::aligned_alloc(64, bytes) : std::aligned_alloc(64, 64);
    if (!p) throw std::bad_alloc();
    std::memset(p, 0, bytes ? bytes : 64);
    return static_cast<float*>(p);
  }
  void release(float* p) override { std::free(p); }
  void upload(float* dst, const float* host, std::size_t n) override {
    if (n) std::memcpy(dst, host, n * sizeof(float));
  }
  void download(float* host, const float* src, std::size_t n) override {
    if (n) std::memcpy(host, src, n * sizeof(float));
  }
};

}  // namespace specvae::model
