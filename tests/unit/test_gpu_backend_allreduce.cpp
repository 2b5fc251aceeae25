// BackendAllReduce on in-process ranks: host backends sum through the communicator; CUDA
// backends sharing one GPU (all in-process ranks do) are staged through the host. Sums of
// small integers are exact in any order, so the expected buffer is known exactly.
#include <gtest/gtest.h>

#include "specvae/dist/communicator.hpp"
#include "specvae/gpu/backend_allreduce.hpp"
#include "specvae/gpu/resources.hpp"

#if SPECVAE_HAVE_CUDA
#include "specvae/gpu/cuda_backend.hpp"
#endif

using namespace specvae;

namespace {
void check_sum(const char* kind, int ranks) {
  const std::size_t n = 10007;
  run_in_process(ranks, [&](Communicator& comm) {
    std::unique_ptr<model::Backend> be;
#if SPECVAE_HAVE_CUDA
    if (std::string(kind) == "cuda") be = gpu::make_cuda_backend(0, false);
#endif
    if (!be) be = model::make_backend(kind);
    model::DeviceBuffer buf(*be, n);
    std::vector<float> host(n);
    for (std::size_t i = 0; i < n; ++i) host[i] = static_cast<float>((i % 97) * (comm.rank() + 1));
    be->upload(buf.data(), host.data(), n);
    gpu::BackendAllReduce reduce(comm, *be);
    reduce.sum(buf.data(), n);
    std::vector<float> out(n);
    be->download(out.data(), buf.data(), n);
    const float factor = static_cast<float>(comm.size() * (comm.size() + 1) / 2);
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], static_cast<float>(i % 97) * factor) << i;
    if (std::string(kind) == "cuda")
      EXPECT_EQ(reduce.method(), comm.size() == 1 ? "nccl" : "staged");
    else
      EXPECT_EQ(reduce.method(), "host");
  });
}
}  // namespace

TEST(BackendAllReduce, HostBackendsSumThroughTheCommunicator) {
  check_sum("reference", 3);
  check_sum("cpu", 1);
}

TEST(BackendAllReduce, CudaBackendsSharingAGpuAreStaged) {
  if (gpu_device_count() == 0) GTEST_SKIP() << "no GPU: " << gpu_unavailable_reason();
  check_sum("cuda", 2);
  check_sum("cuda", 1);  // one rank on its own GPU: a 1-rank NCCL communicator
}
