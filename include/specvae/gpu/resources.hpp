// What the CUDA backend owns on one GPU (device, streams, cuBLAS handle) and the device query.
// Callable from plain C++: when specvae is built without CUDA, the query reports no device
// and constructing GpuResources throws.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace specvae {

struct GpuDeviceInfo {
  int index = -1;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  std::size_t total_memory = 0;
  int multiprocessors = 0;
  std::string uuid;  // 32 hex digits: the same GPU has the same UUID whatever ordinal a process sees
};

// Whether this build has the CUDA backend compiled in.
bool cuda_built();
// Devices this process can use; 0 without CUDA, without a driver or without a device.
int gpu_device_count();
std::vector<GpuDeviceInfo> gpu_devices();
// Why gpu_device_count() is 0 (empty when a device is present).
std::string gpu_unavailable_reason();

// The GPU this rank computes on: init_distributed sets it from the node-local MPI rank
// (local rank mod the visible devices), whatever the launcher; -1 before that or without a
// GPU. The CUDA backend and the GPU kNN both take it, so they use the same device.
void set_rank_gpu(int device);
int rank_gpu();

// Synchronise and check after every kernel launch (runtime.cuda_debug_sync).
void set_cuda_debug_sync(bool on);
bool cuda_debug_sync();

class GpuResources {
 public:
  explicit GpuResources(int device);
  ~GpuResources();
  GpuResources(const GpuResources&) = delete;
  GpuResources& operator=(const GpuResources&) = delete;

  int device() const;
  const GpuDeviceInfo& info() const;
  // Opaque CUDA handles (cudaStream_t, cublasHandle_t) for code compiled with CUDA.
  void* compute_stream() const;
  void* comm_stream() const;
  void* cublas() const;
  void synchronize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A self-test of the toolchain: fills n floats with i*scale on the device and copies them
// back (exercises allocation, a checked kernel launch on an explicit stream and the copy).
std::vector<float> gpu_iota_selftest(GpuResources& gpu, int n, float scale);

}  // namespace specvae
