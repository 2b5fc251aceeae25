// The check family reports what failed, where, and on which rank; log levels parse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"

using namespace specvae;

TEST(CheckDeathTest, FailedCheckNamesConditionFileLineAndRank) {
  set_error_rank(3);
  EXPECT_DEATH(SPECVAE_CHECK(1 + 1 == 3, "arithmetic is off by {}", 1),
               "check `1 \\+ 1 == 3` failed at .*test_log_error.cpp:[0-9]+ \\(rank 3\\): arithmetic is off by 1");
}

TEST(CheckDeathTest, Hdf5StyleNegativeStatusAborts) {
  EXPECT_DEATH((void)SPECVAE_HDF5_CHECK(-1), "HDF5 call `-1` failed");
}

TEST(CheckDeathTest, AbortHandlerIsUsed) {
  set_abort_handler([](int) { std::fprintf(stderr, "custom abort handler ran\n"); std::_Exit(7); });
  EXPECT_EXIT(SPECVAE_CHECK(false), ::testing::ExitedWithCode(7), "custom abort handler ran");
  set_abort_handler(nullptr);
}

TEST(Check, PassingCheckDoesNothing) {
  int evaluated = 0;
  SPECVAE_CHECK(++evaluated == 1, "never printed");
  EXPECT_EQ(evaluated, 1);
  EXPECT_EQ(SPECVAE_HDF5_CHECK(5), 5);
}

TEST(Log, Levels) {
  EXPECT_EQ(log::parse_level("debug"), log::Level::debug);
  EXPECT_EQ(log::parse_level("warn"), log::Level::warn);
  EXPECT_THROW(log::parse_level("loud"), ConfigError);
  log::init(0, false, log::Level::info);
  EXPECT_EQ(spdlog::get_level(), spdlog::level::info);
  log::init(2, false, log::Level::info);  // quiet ranks keep errors only
  EXPECT_EQ(spdlog::get_level(), spdlog::level::err);
  log::init(2, true, log::Level::debug);
  EXPECT_EQ(spdlog::get_level(), spdlog::level::debug);
}
