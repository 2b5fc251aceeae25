// The GPU-resident / streamed shard: shuffled batches gathered either way equal the host rows.
#if SPECVAE_HAVE_CUDA
#include <numeric>
#include <random>
#include <vector>

#include <cuda_runtime_api.h>

#include "gpu_test_util.hpp"
#include "specvae/gpu/device_shard.hpp"

using namespace specvae;

namespace {
void check_gather(std::size_t budget, bool expect_resident, bool expect_fallback = false) {
  const std::int64_t rows = 1001;
  const int cols = 1000;
  std::vector<float> x(static_cast<std::size_t>(rows) * cols), w(x.size());
  std::iota(x.begin(), x.end(), 0.0f);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = -static_cast<float>(i % 8191);
  gpu::DeviceShard shard(0, x.data(), w.data(), rows, cols, budget);
  EXPECT_EQ(shard.resident(), expect_resident);
  EXPECT_EQ(shard.streams_for_lack_of_memory(), expect_fallback);
  std::vector<std::int64_t> order(static_cast<std::size_t>(rows));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(5));
  float *dx = nullptr, *dw = nullptr;
  const int batch = 300;
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&dx), std::size_t(batch) * cols * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&dw), std::size_t(batch) * cols * sizeof(float)), cudaSuccess);
  std::vector<float> hx(std::size_t(batch) * cols), hw(hx.size());
  for (std::int64_t b0 = 0; b0 < rows; b0 += batch) {
    const std::size_t m = static_cast<std::size_t>(std::min<std::int64_t>(batch, rows - b0));
    std::span<const std::int64_t> ids(order.data() + b0, m);
    shard.gather(ids, dx, dw, nullptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(hx.data(), dx, m * cols * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(hw.data(), dw, m * cols * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
    for (std::size_t r = 0; r < m; ++r)
      for (int j = 0; j < cols; j += 97) {
        const std::size_t src = static_cast<std::size_t>(ids[r]) * cols + j;
        ASSERT_EQ(hx[r * cols + j], x[src]) << "batch row " << r;
        ASSERT_EQ(hw[r * cols + j], w[src]) << "batch row " << r;
      }
  }
  cudaFree(dx);
  cudaFree(dw);
}
}  // namespace

TEST(DeviceShard, ResidentGatherMatchesHostRows) {
  SPECVAE_REQUIRE_GPU();
  check_gather(0, true);  // 8 MB: fits any GPU
}

TEST(DeviceShard, StreamedGatherMatchesHostRows) {
  SPECVAE_REQUIRE_GPU();
  check_gather(1024, false);  // a 1 KiB budget forces streaming
}
// Another rank (here: this test) took the memory between the budget and the allocation: the
// shard streams instead of failing, and the GPU is still usable afterwards.
TEST(DeviceShard, StreamsWhenTheAllocationFailsDespiteTheBudget) {
  SPECVAE_REQUIRE_GPU();
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  // Leave about 6 MiB free: room for the 2 × 1.2 MB batch buffers, not for the shard's two
  // 4 MB copies, which an unlimited budget would keep on the GPU.
  const std::size_t keep = std::size_t{6} << 20;
  std::vector<void*> hogs;
  const auto free_now = [] {
    std::size_t f = 0, t = 0;
    EXPECT_EQ(cudaMemGetInfo(&f, &t), cudaSuccess);
    return f;
  };
  for (std::size_t step : {std::size_t{1} << 30, std::size_t{16} << 20, std::size_t{1} << 20}) {
    while (free_now() > keep + step) {
      void* p = nullptr;
      if (cudaMalloc(&p, step) != cudaSuccess) {
        (void)cudaGetLastError();
        break;
      }
      hogs.push_back(p);
    }
  }
  ASSERT_LT(free_now(), (std::size_t{15} << 19)) << "could not take the GPU's memory (7.5 MiB left at most)";
  check_gather(~std::size_t{0}, false, true);
  for (void* p : hogs) cudaFree(p);
  // A normal shard afterwards works: the failed allocation left no sticky error.
  check_gather(0, true);
}
#else
#include "gpu_test_util.hpp"
TEST(DeviceShard, NeedsCudaBuild) { GTEST_SKIP() << "specvae was built without CUDA"; }
#endif
