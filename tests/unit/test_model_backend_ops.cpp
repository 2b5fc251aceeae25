// The op-parity table (tests/common/backend_op_table.hpp) on the CPU backend, with each of its
// GEMM libraries, against the reference backend; and what a host backend says it is.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "backend_op_table.hpp"
#include "specvae/model/backend.hpp"

using namespace specvae;
using namespace specvae::model;

// A backend says what it is; code asks it instead of comparing names or casting.
TEST(BackendOps, HostBackendsDescribeThemselves) {
  const std::unique_ptr<Backend> ref = make_backend("reference"), cpu = make_backend("cpu", 1);
  EXPECT_EQ(ref->kind(), BackendKind::Reference);
  EXPECT_EQ(cpu->kind(), BackendKind::Cpu);
  for (const Backend* b : {ref.get(), cpu.get()}) {
    EXPECT_EQ(b->device(), -1) << b->name();
    EXPECT_EQ(b->device_stream(), nullptr) << b->name();
    EXPECT_TRUE(b->host_memory()) << b->name();
  }
}

// (GEMM library, op): two threads, so the OpenMP loops split their rows.
class CpuOpParity : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(CpuOpParity, MatchesReference) {
  const auto& [gemm, op] = GetParam();
  const std::unique_ptr<Backend> cpu = make_backend("cpu", 2, gemm), ref = make_backend("reference");
  parity::op_case(op).check(*cpu, *ref);
}

INSTANTIATE_TEST_SUITE_P(Table, CpuOpParity,
                         ::testing::Combine(::testing::Values("openblas", "onednn"),
                                            ::testing::ValuesIn(parity::op_case_names())),
                         [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param); });
