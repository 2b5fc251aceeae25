// GpuResources and the device query on the CUDA runtime (built when CUDA is enabled).
#include <atomic>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "cuda_buffer.hpp"
#include "cuda_check.cuh"
#include "specvae/core/error.hpp"
#include "selftest.h"
#include "specvae/gpu/resources.hpp"

namespace specvae {
namespace {
std::atomic<bool> g_debug_sync{false};

GpuDeviceInfo query(int device) {
  cudaDeviceProp p{};
  SPECVAE_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  GpuDeviceInfo info{device, p.name, p.major, p.minor, p.totalGlobalMem, p.multiProcessorCount, {}};
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char byte : p.uuid.bytes) {
    const auto b = static_cast<unsigned char>(byte);
    info.uuid += kHex[b >> 4];
    info.uuid += kHex[b & 15];
  }
  return info;
}
}  // namespace

bool cuda_built() { return true; }
namespace {
int g_rank_gpu = -1;
}
void set_rank_gpu(int device) { g_rank_gpu = device; }
int rank_gpu() { return g_rank_gpu; }
void set_cuda_debug_sync(bool on) { g_debug_sync = on; }
bool cuda_debug_sync() { return g_debug_sync; }

int gpu_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device / no driver" error
    return 0;
  }
  return n;
}

std::string gpu_unavailable_reason() {
  int n = 0;
  cudaError_t rc = cudaGetDeviceCount(&n);
  if (rc != cudaSuccess) {
    cudaGetLastError();
    return std::string("CUDA runtime: ") + cudaGetErrorString(rc);
  }
  return n == 0 ? "no CUDA device visible" : "";
}

std::vector<GpuDeviceInfo> gpu_devices() {
  std::vector<GpuDeviceInfo> out;
  for (int d = 0, n = gpu_device_count(); d < n; ++d) out.push_back(query(d));
  return out;
}

struct GpuResources::Impl {
  GpuDeviceInfo info;
  cudaStream_t compute = nullptr;
  cudaStream_t comm = nullptr;
  cublasHandle_t cublas = nullptr;
};

GpuResources::GpuResources(int device) : impl_(std::make_unique<Impl>()) {
  SPECVAE_CHECK(device >= 0 && device < gpu_device_count(), "GPU {} does not exist ({})", device,
                gpu_unavailable_reason());
  SPECVAE_CUDA_CHECK(cudaSetDevice(device));
  impl_->info = query(device);
  SPECVAE_CUDA_CHECK(cudaStreamCreateWithFlags(&impl_->compute, cudaStreamNonBlocking));
  SPECVAE_CUDA_CHECK(cudaStreamCreateWithFlags(&impl_->comm, cudaStreamNonBlocking));
  SPECVAE_CUBLAS_CHECK(cublasCreate(&impl_->cublas));
  SPECVAE_CUBLAS_CHECK(cublasSetStream(impl_->cublas, impl_->compute));
}

GpuResources::~GpuResources() {
  if (!impl_) return;
  cudaSetDevice(impl_->info.index);
  if (impl_->cublas) cublasDestroy(impl_->cublas);
  if (impl_->compute) cudaStreamDestroy(impl_->compute);
  if (impl_->comm) cudaStreamDestroy(impl_->comm);
}

int GpuResources::device() const { return impl_->info.index; }
const GpuDeviceInfo& GpuResources::info() const { return impl_->info; }
void* GpuResources::compute_stream() const { return impl_->compute; }
void* GpuResources::comm_stream() const { return impl_->comm; }
void* GpuResources::cublas() const { return impl_->cublas; }
void GpuResources::synchronize() const { SPECVAE_CUDA_CHECK(cudaStreamSynchronize(impl_->compute)); }

std::vector<float> gpu_iota_selftest(GpuResources& gpu, int n, float scale) {
  SPECVAE_CUDA_CHECK(cudaSetDevice(gpu.device()));
  auto stream = static_cast<cudaStream_t>(gpu.compute_stream());
  auto d = gpu::CudaBuffer<float>::device(static_cast<std::size_t>(n), stream);
  kernels::launch_iota(d.get(), n, scale, stream);
  std::vector<float> host(static_cast<std::size_t>(n));
  SPECVAE_CUDA_CHECK(cudaMemcpyAsync(host.data(), d.get(), sizeof(float) * std::size_t(n), cudaMemcpyDeviceToHost, stream));
  d.reset();
  SPECVAE_CUDA_CHECK(cudaStreamSynchronize(stream));
  return host;
}

}  // namespace specvae
