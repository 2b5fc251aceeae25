// Helpers for the DESI reader tests: where the real DESI files are, a temporary directory, and
// a check that an expression throws InputError whose message contains given fragments.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "specvae/core/error.hpp"

namespace specvae::testing {

inline std::filesystem::path desi_data_dir() {
  return std::filesystem::path(SPECVAE_TEST_DATA_DIR) / "desi";
}

// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("specvae-desi-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace specvae::testing

// Skips the test (visibly) where the real DESI files are not present.
#define SPECVAE_REQUIRE_DESI_DATA()                                                           \
  do {                                                                                        \
    if (!std::filesystem::is_directory(::specvae::testing::desi_data_dir()))                 \
      GTEST_SKIP() << "real DESI files not found at " << ::specvae::testing::desi_data_dir() \
                   << " (see shared/data/README.md)";                                         \
  } while (0)

// EXPECT that `stmt` throws specvae::InputError whose message contains every fragment.
#define EXPECT_INPUT_ERROR(stmt, ...)                                                         \
  do {                                                                                        \
    try {                                                                                     \
      stmt;                                                                                   \
      ADD_FAILURE() << "expected InputError from: " #stmt;                                    \
    } catch (const ::specvae::InputError& e) {                                               \
      for (const std::string& frag : std::initializer_list<std::string>{__VA_ARGS__})         \
        EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr(frag));                       \
    }                                                                                         \
  } while (0)
