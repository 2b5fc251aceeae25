// The NCCL gradient all-reduce in one process over every visible GPU (ncclCommInitAll; with
// one GPU a 1-rank communicator still runs the whole path): integer-valued buffers, whose
// sums are exact in any order, ordered against compute-stream work by events.
#if SPECVAE_HAVE_CUDA
#include <numeric>

#include <cuda_runtime_api.h>

#include "gpu_test_util.hpp"
#include "specvae/gpu/nccl_allreduce.hpp"

using namespace specvae;

TEST(NcclAllReduce, IntegerBuffersSumExactlyOverAllGpus) {
  SPECVAE_REQUIRE_GPU();
  const int n_gpus = gpu_device_count();
  std::vector<int> devices(static_cast<std::size_t>(n_gpus));
  std::iota(devices.begin(), devices.end(), 0);
  auto comms = gpu::NcclAllReduce::create_all(devices);
  ASSERT_EQ(static_cast<int>(comms.size()), n_gpus);

  // 3.5 M floats: the size of the paper's model gradient (not a multiple of anything).
  const std::size_t n = 3'512'347;
  std::vector<float*> buffers(devices.size());
  std::vector<cudaStream_t> compute(devices.size());
  for (int r = 0; r < n_gpus; ++r) {
    EXPECT_EQ(comms[static_cast<std::size_t>(r)]->rank(), r);
    EXPECT_EQ(comms[static_cast<std::size_t>(r)]->size(), n_gpus);
    ASSERT_EQ(cudaSetDevice(r), cudaSuccess);
    ASSERT_EQ(cudaStreamCreateWithFlags(&compute[static_cast<std::size_t>(r)], cudaStreamNonBlocking), cudaSuccess);
    std::vector<float> host(n);
    for (std::size_t i = 0; i < n; ++i) host[i] = static_cast<float>((i % 1000) * (r + 1));
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&buffers[static_cast<std::size_t>(r)]), n * sizeof(float)), cudaSuccess);
    // Fill on the compute stream: the all-reduce must wait for this copy (event ordering).
    ASSERT_EQ(cudaMemcpyAsync(buffers[static_cast<std::size_t>(r)], host.data(), n * sizeof(float),
                              cudaMemcpyHostToDevice, compute[static_cast<std::size_t>(r)]),
              cudaSuccess);
  }
  gpu::NcclAllReduce::group_start();
  for (int r = 0; r < n_gpus; ++r)
    comms[static_cast<std::size_t>(r)]->allreduce_sum(buffers[static_cast<std::size_t>(r)], n,
                                                      compute[static_cast<std::size_t>(r)]);
  gpu::NcclAllReduce::group_end();

  const float factor = static_cast<float>(n_gpus * (n_gpus + 1) / 2);  // Σ (r + 1)
  for (int r = 0; r < n_gpus; ++r) {
    ASSERT_EQ(cudaSetDevice(r), cudaSuccess);
    std::vector<float> out(n);
    // Read back on the compute stream: it was made to wait for the all-reduce.
    ASSERT_EQ(cudaMemcpyAsync(out.data(), buffers[static_cast<std::size_t>(r)], n * sizeof(float),
                              cudaMemcpyDeviceToHost, compute[static_cast<std::size_t>(r)]),
              cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(compute[static_cast<std::size_t>(r)]), cudaSuccess);
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(out[i], static_cast<float>(i % 1000) * factor) << "rank " << r << " element " << i;
      nonzero += out[i] != 0.0f;
    }
    EXPECT_GT(nonzero, n / 2);
    cudaFree(buffers[static_cast<std::size_t>(r)]);
    cudaStreamDestroy(compute[static_cast<std::size_t>(r)]);
  }
}

TEST(NcclAllReduce, UniqueIdRoundTripsAsBytes) {
  SPECVAE_REQUIRE_GPU();
  const auto a = gpu::NcclAllReduce::make_unique_id();
  const auto b = gpu::NcclAllReduce::make_unique_id();
  EXPECT_NE(a, b);
  // A 1-rank communicator from an id (the MPI path's constructor).
  gpu::NcclAllReduce one(a, 0, 1, 0);
  float* d = nullptr;
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d), 1000 * sizeof(float)), cudaSuccess);
  std::vector<float> host(1000, 3.0f);
  ASSERT_EQ(cudaMemcpy(d, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  one.allreduce_sum(d, host.size(), s);
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(host.data(), d, host.size() * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  for (float v : host) ASSERT_EQ(v, 3.0f);
  cudaFree(d);
  cudaStreamDestroy(s);
}
#else
#include "gpu_test_util.hpp"
TEST(NcclAllReduce, NeedsCudaBuild) { GTEST_SKIP() << "specvae was built without CUDA"; }
#endif
