// gtest main for tests run under mpiexec: MPI up before the tests, only rank 0 prints the
// usual report (other ranks print their failures), and the exit code is failed on every rank
// if any rank failed.
#include <gtest/gtest.h>
#include <mpi.h>

#include "specvae/core/log.hpp"
#include "specvae/dist/distributed.hpp"

namespace {
// Forwards only failures, so ranks other than 0 stay quiet unless something breaks.
class FailuresOnly : public ::testing::EmptyTestEventListener {
 public:
  FailuresOnly(::testing::TestEventListener* inner, int rank) : inner_(inner), rank_(rank) {}
  ~FailuresOnly() override { delete inner_; }
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed()) {
      std::fprintf(stderr, "[rank %d] ", rank_);
      inner_->OnTestPartResult(r);
    }
  }

 private:
  ::testing::TestEventListener* inner_;
  int rank_;
};
}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto& ctx = specvae::init_distributed(&argc, &argv);
  specvae::log::init(ctx.world_rank, false, specvae::log::Level::warn);
  if (ctx.world_rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    auto* printer = listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailuresOnly(printer, ctx.world_rank));
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (ctx.world_rank == 0 && any_failed && !failed) std::fprintf(stderr, "a test failed on another rank\n");
  specvae::finalize_distributed();
  return any_failed;
}
