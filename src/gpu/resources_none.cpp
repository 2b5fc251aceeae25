// The device query in a build without CUDA: no devices, and a clear error if one is asked for.
#include "specvae/core/error.hpp"
#include "specvae/gpu/resources.hpp"

namespace specvae {

bool cuda_built() { return false; }
int gpu_device_count() { return 0; }
std::vector<GpuDeviceInfo> gpu_devices() { return {}; }
std::string gpu_unavailable_reason() { return "specvae was built without CUDA (SPECVAE_ENABLE_CUDA=OFF)"; }
namespace {
int g_rank_gpu = -1;
}
void set_rank_gpu(int device) { g_rank_gpu = device; }
int rank_gpu() { return g_rank_gpu; }
void set_cuda_debug_sync(bool) {}
bool cuda_debug_sync() { return false; }

struct GpuResources::Impl {
  GpuDeviceInfo info;
};

GpuResources::GpuResources(int) {
  throw InputError("a GPU was requested, but specvae was built without CUDA (rebuild with SPECVAE_ENABLE_CUDA=ON)");
}
GpuResources::~GpuResources() = default;
int GpuResources::device() const { return -1; }
const GpuDeviceInfo& GpuResources::info() const { return impl_->info; }
void* GpuResources::compute_stream() const { return nullptr; }
void* GpuResources::comm_stream() const { return nullptr; }
void* GpuResources::cublas() const { return nullptr; }
void GpuResources::synchronize() const {}
std::vector<float> gpu_iota_selftest(GpuResources&, int, float) { return {}; }

}  // namespace specvae
