// The GPU layer's entry points in a build without CUDA, so the layers above call them without
// knowing how specvae was built: the CUDA backend, the GPU kNN and the device-resident
// training rows each say, as a ConfigError, that this build has no CUDA. Callers reach them
// only after asking (cuda_built(), Backend::kind()); the messages are the last line of defence.
#include "specvae/core/error.hpp"
#include "specvae/gpu/cuda_backend.hpp"
#include "specvae/gpu/device_shard.hpp"
#include "specvae/gpu/knn_cuda.hpp"

namespace specvae::gpu {
namespace {
[[noreturn]] void no_cuda(const char* what) {
  throw ConfigError(std::string(what) + ": this specvae was built without CUDA (configure with SPECVAE_ENABLE_CUDA=ON)");
}
}  // namespace

std::unique_ptr<model::Backend> make_cuda_backend(int, bool, bool) { no_cuda("train.backend = \"cuda\""); }
int default_cuda_device() { return -1; }

GpuKnnResult gpu_knn(const float*, std::int64_t, const float*, std::int64_t, int, int, std::int64_t, const GpuKnnOptions&) {
  no_cuda("score.knn = \"cuda\"");
}
std::size_t gpu_knn_device_bytes(std::int64_t, std::int64_t, int, int) { return 0; }
bool gpu_knn_fits(int, std::int64_t, std::int64_t, int, int, std::size_t* need, std::size_t* free) {
  if (need) *need = 0;
  if (free) *free = 0;
  return false;
}

struct DeviceShard::Impl {};
DeviceShard::DeviceShard(int, const float*, const float*, std::int64_t, int, std::size_t) {
  no_cuda("train.device_shard");
}
DeviceShard::~DeviceShard() = default;
bool DeviceShard::resident() const { return false; }
bool DeviceShard::streams_for_lack_of_memory() const { return false; }
std::int64_t DeviceShard::rows() const { return 0; }
int DeviceShard::n_cols() const { return 0; }
void DeviceShard::gather(std::span<const std::int64_t>, float*, float*, void*) { no_cuda("train.device_shard"); }

}  // namespace specvae::gpu
