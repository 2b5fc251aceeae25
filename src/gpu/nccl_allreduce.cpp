// NcclAllReduce (see specvae/gpu/nccl_allreduce.hpp): NCCL communicator, its own stream and
// the two events that order it against the compute stream.
#include "specvae/gpu/nccl_allreduce.hpp"

#include <cstring>

#include <nccl.h>

#include "cuda_check.cuh"
#include "specvae/core/error.hpp"

namespace specvae::gpu {

static_assert(sizeof(ncclUniqueId) == sizeof(NcclUniqueIdBytes), "ncclUniqueId size changed");

struct NcclAllReduce::Impl {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  cudaEvent_t grads_ready = nullptr;  // recorded on the compute stream
  cudaEvent_t reduced = nullptr;      // recorded on the communication stream
  int rank = 0, size = 1, device = 0;

  void init_stream_and_events() {
    SPECVAE_CUDA_CHECK(cudaSetDevice(device));
    // Highest priority so the all-reduce is not starved by compute kernels queued after it.
    int least = 0, greatest = 0;
    SPECVAE_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
    SPECVAE_CUDA_CHECK(cudaStreamCreateWithPriority(&stream, cudaStreamNonBlocking, greatest));
    SPECVAE_CUDA_CHECK(cudaEventCreateWithFlags(&grads_ready, cudaEventDisableTiming));
    SPECVAE_CUDA_CHECK(cudaEventCreateWithFlags(&reduced, cudaEventDisableTiming));
  }
};

NcclAllReduce::NcclAllReduce() : impl_(std::make_unique<Impl>()) {}

NcclUniqueIdBytes NcclAllReduce::make_unique_id() {
  ncclUniqueId id;
  SPECVAE_NCCL_CHECK(ncclGetUniqueId(&id));
  NcclUniqueIdBytes bytes{};
  std::memcpy(bytes.data(), &id, sizeof(id));
  return bytes;
}

NcclAllReduce::NcclAllReduce(const NcclUniqueIdBytes& id_bytes, int rank, int size, int device)
    : impl_(std::make_unique<Impl>()) {
  SPECVAE_CHECK(size >= 1 && rank >= 0 && rank < size, "NCCL: rank {} of {}", rank, size);
  impl_->rank = rank;
  impl_->size = size;
  impl_->device = device;
  impl_->init_stream_and_events();
  ncclUniqueId id;
  std::memcpy(&id, id_bytes.data(), sizeof(id));
  SPECVAE_NCCL_CHECK(ncclCommInitRank(&impl_->comm, size, id, rank));
}

std::vector<std::unique_ptr<NcclAllReduce>> NcclAllReduce::create_all(const std::vector<int>& devices) {
  const int n = static_cast<int>(devices.size());
  SPECVAE_CHECK(n >= 1, "NCCL: no devices");
  std::vector<ncclComm_t> comms(static_cast<std::size_t>(n));
  SPECVAE_NCCL_CHECK(ncclCommInitAll(comms.data(), n, devices.data()));
  std::vector<std::unique_ptr<NcclAllReduce>> out;
  for (int r = 0; r < n; ++r) {
    std::unique_ptr<NcclAllReduce> one(new NcclAllReduce());
    one->impl_->rank = r;
    one->impl_->size = n;
    one->impl_->device = devices[static_cast<std::size_t>(r)];
    one->impl_->comm = comms[static_cast<std::size_t>(r)];
    one->impl_->init_stream_and_events();
    out.push_back(std::move(one));
  }
  return out;
}

NcclAllReduce::~NcclAllReduce() {
  if (!impl_) return;
  cudaSetDevice(impl_->device);
  if (impl_->stream) cudaStreamSynchronize(impl_->stream);
  if (impl_->comm) ncclCommDestroy(impl_->comm);
  if (impl_->grads_ready) cudaEventDestroy(impl_->grads_ready);
  if (impl_->reduced) cudaEventDestroy(impl_->reduced);
  if (impl_->stream) cudaStreamDestroy(impl_->stream);
}

int NcclAllReduce::rank() const { return impl_->rank; }
int NcclAllReduce::size() const { return impl_->size; }
int NcclAllReduce::device() const { return impl_->device; }

namespace {
// Inside ncclGroupStart/End the collectives are only issued at ncclGroupEnd, so the "done"
// events of the calls made in a group are recorded after it (per host thread).
struct PendingWait {
  int device;
  cudaStream_t comm_stream, compute;
  cudaEvent_t reduced;
};
thread_local bool t_in_group = false;
thread_local std::vector<PendingWait> t_pending;

void finish(const PendingWait& w) {
  SPECVAE_CUDA_CHECK(cudaSetDevice(w.device));
  SPECVAE_CUDA_CHECK(cudaEventRecord(w.reduced, w.comm_stream));
  SPECVAE_CUDA_CHECK(cudaStreamWaitEvent(w.compute, w.reduced, 0));
}
}  // namespace

void NcclAllReduce::group_start() {
  SPECVAE_NCCL_CHECK(ncclGroupStart());
  t_in_group = true;
}

void NcclAllReduce::group_end() {
  SPECVAE_NCCL_CHECK(ncclGroupEnd());
  t_in_group = false;
  for (const auto& w : t_pending) finish(w);
  t_pending.clear();
}

void NcclAllReduce::allreduce_sum(float* data, std::size_t n, void* compute_stream) {
  auto compute = static_cast<cudaStream_t>(compute_stream);
  SPECVAE_CUDA_CHECK(cudaSetDevice(impl_->device));
  SPECVAE_CUDA_CHECK(cudaEventRecord(impl_->grads_ready, compute));
  SPECVAE_CUDA_CHECK(cudaStreamWaitEvent(impl_->stream, impl_->grads_ready, 0));
  SPECVAE_NCCL_CHECK(ncclAllReduce(data, data, n, ncclFloat, ncclSum, impl_->comm, impl_->stream));
  const PendingWait wait{impl_->device, impl_->stream, compute, impl_->reduced};
  if (t_in_group)
    t_pending.push_back(wait);
  else
    finish(wait);
}

}  // namespace specvae::gpu
