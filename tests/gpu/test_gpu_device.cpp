// The CUDA toolchain end to end: device query, resources, a checked kernel on a stream.
#include "gpu_test_util.hpp"

using namespace specvae;

TEST(GpuDevice, QueryIsConsistent) {
  SPECVAE_REQUIRE_GPU();
  auto devices = gpu_devices();
  ASSERT_EQ(int(devices.size()), gpu_device_count());
  for (const auto& d : devices) {
    EXPECT_FALSE(d.name.empty());
    EXPECT_GE(d.compute_major, 7);
    EXPECT_GT(d.total_memory, 0u);
    EXPECT_GT(d.multiprocessors, 0);
  }
}

TEST(GpuDevice, CheckedKernelLaunchOnExplicitStream) {
  SPECVAE_REQUIRE_GPU();
  GpuResources gpu(0);
  EXPECT_NE(gpu.compute_stream(), nullptr);
  EXPECT_NE(gpu.cublas(), nullptr);
  const int n = 100003;
  auto v = gpu_iota_selftest(gpu, n, 0.5f);
  ASSERT_EQ(int(v.size()), n);
  float nonzero = 0;
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(v[std::size_t(i)], float(i) * 0.5f) << "at " << i;
    nonzero += v[std::size_t(i)] != 0.0f;
  }
  EXPECT_GT(nonzero, 0);  // not all zeros
}
