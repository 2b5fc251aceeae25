// BackendAllReduce (see specvae/gpu/backend_allreduce.hpp). Built in every configuration: the
// NCCL path only where CUDA is compiled in.
#include "specvae/gpu/backend_allreduce.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <unistd.h>

#include "specvae/core/log.hpp"
#include "specvae/gpu/resources.hpp"

#if SPECVAE_HAVE_CUDA
#include "specvae/gpu/nccl_comm.hpp"
#endif

namespace specvae::gpu {
namespace {
// Which GPU a rank computes on: NCCL needs every rank on its own GPU. The device is known by
// its UUID, not its ordinal: under `srun --gpus-per-task=1` every rank of a node sees its own
// GPU as device 0. (host, ordinal) stands in where the UUID is not known.
struct GpuSlot {
  std::uint64_t host = 0;
  std::uint64_t gpu = 0;  // hash of the UUID, or the ordinal
  std::int64_t device = -1;
  bool operator<(const GpuSlot& o) const { return host != o.host ? host < o.host : gpu < o.gpu; }
  bool same_gpu(const GpuSlot& o) const { return host == o.host && gpu == o.gpu; }
};

std::uint64_t host_hash() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return std::hash<std::string>{}(name);
}
}  // namespace

BackendAllReduce::BackendAllReduce(Communicator& comm, model::Backend& backend) : comm_(comm), backend_(backend) {
  const int device = backend.device();
  GpuSlot mine{host_hash(), static_cast<std::uint64_t>(device), device};
  if (device >= 0) {
    const std::vector<GpuDeviceInfo> devices = gpu_devices();
    if (device < static_cast<int>(devices.size()) && !devices[device].uuid.empty()) {
      mine.host = 0;  // a UUID names one GPU anywhere
      mine.gpu = std::hash<std::string>{}(devices[device].uuid);
    }
  }
  // Every rank takes part in the same collectives whatever its backend.
  auto slots = comm.allgather(mine);
  const bool all_gpu = std::all_of(slots.begin(), slots.end(), [](const GpuSlot& s) { return s.device >= 0; });
  std::sort(slots.begin(), slots.end());
  const bool distinct =
      std::adjacent_find(slots.begin(), slots.end(), [](const GpuSlot& a, const GpuSlot& b) { return a.same_gpu(b); }) ==
      slots.end();
  if (device < 0 && !all_gpu) {
    method_ = "host";
  } else if (all_gpu && distinct) {
#if SPECVAE_HAVE_CUDA
    nccl_ = make_nccl_allreduce(comm, device);
    method_ = "nccl";
#endif
  } else {
    method_ = "staged";
  }
  if (method_.empty()) method_ = "staged";
  if (comm.rank() == 0) log::debug("gradient all-reduce over {} rank(s): {}", comm.size(), method_);
}

BackendAllReduce::~BackendAllReduce() = default;

void BackendAllReduce::sum(float* data, std::size_t n) {
  if (method_ == "host") {
    comm_.allreduce_sum(std::span<float>(data, n));
    return;
  }
#if SPECVAE_HAVE_CUDA
  if (nccl_) {
    nccl_->allreduce_sum(data, n, backend_.device_stream());
    return;
  }
#endif
  // Mixed or shared devices: through the host (the backend's download waits for its work).
  staging_.resize(n);
  backend_.download(staging_.data(), data, n);
  comm_.allreduce_sum(std::span<float>(staging_.data(), n));
  backend_.upload(data, staging_.data(), n);
}

}  // namespace specvae::gpu
