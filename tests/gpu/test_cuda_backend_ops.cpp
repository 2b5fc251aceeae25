// The op-parity table (tests/common/backend_op_table.hpp) on the CUDA backend, with both
// layer-forward paths (SGEMM + the bias/ReLU kernel, and cuBLASLt's bias/ReLU epilogue),
// against the reference backend (plain loops, double sums). Skips visibly without a GPU.
#if SPECVAE_HAVE_CUDA
#include <string>
#include <tuple>

#include "backend_op_table.hpp"
#include "gpu_test_util.hpp"
#include "reference_backend.hpp"
#include "specvae/gpu/cuda_backend.hpp"

using namespace specvae;

namespace {
// Every launch in this binary is synchronised and checked (runtime.cuda_debug_sync), so a
// faulting kernel is reported at its own launch rather than at a later copy.
const bool kDebugSync = [] {
  set_cuda_debug_sync(true);
  return true;
}();
}  // namespace

TEST(CudaBackendOps, DescribesItself) {
  SPECVAE_REQUIRE_GPU();
  const auto gpu = gpu::make_cuda_backend(0, false, false);
  EXPECT_EQ(gpu->name(), "cuda");
  EXPECT_EQ(gpu->kind(), model::BackendKind::Cuda);
  EXPECT_EQ(gpu->device(), 0);
  EXPECT_NE(gpu->device_stream(), nullptr);
  EXPECT_FALSE(gpu->host_memory());
  EXPECT_NE(gpu->describe().find("cuBLAS"), std::string::npos);
}

// (cuBLASLt epilogue, op).
class CudaOpParity : public ::testing::TestWithParam<std::tuple<bool, std::string>> {};

TEST_P(CudaOpParity, MatchesReference) {
  SPECVAE_REQUIRE_GPU();
  const auto& [lt, op] = GetParam();
  const auto gpu = gpu::make_cuda_backend(0, false, lt);
  model::ReferenceBackend ref;
  parity::op_case(op).check(*gpu, ref);
}

INSTANTIATE_TEST_SUITE_P(Table, CudaOpParity,
                         ::testing::Combine(::testing::Bool(), ::testing::ValuesIn(parity::op_case_names())),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "cublaslt_" : "kernel_") + std::get<1>(info.param);
                         });
#else
#include "gpu_test_util.hpp"
TEST(CudaBackendOps, NeedsCudaBuild) { GTEST_SKIP() << "specvae was built without CUDA"; }
#endif
