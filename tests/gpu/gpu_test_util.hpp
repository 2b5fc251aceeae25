// Shared by the GPU tests: skip (visibly) when there is no usable GPU.
#pragma once

#include <gtest/gtest.h>

#include "specvae/gpu/resources.hpp"

#define SPECVAE_REQUIRE_GPU()                                                              \
  do {                                                                                     \
    if (::specvae::gpu_device_count() == 0)                                                \
      GTEST_SKIP() << "no GPU: " << ::specvae::gpu_unavailable_reason();                   \
  } while (0)
