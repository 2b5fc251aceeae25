// Check macros for CUDA, cuBLAS and NCCL statuses, and the launch check every kernel
// launcher ends with. Part of the one error family (see specvae/core/error.hpp).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "specvae/core/fail.hpp"
#include "specvae/gpu/resources.hpp"

#define SPECVAE_CUDA_CHECK(call)                                                              \
  do {                                                                                        \
    cudaError_t specvae_cuda_rc_ = (call);                                                    \
    if (specvae_cuda_rc_ != cudaSuccess) [[unlikely]]                                         \
      ::specvae::fail_check("CUDA call `" #call "`", cudaGetErrorString(specvae_cuda_rc_),    \
                            std::source_location::current());                                \
  } while (0)

#define SPECVAE_CUBLAS_CHECK(call)                                                            \
  do {                                                                                        \
    cublasStatus_t specvae_cublas_rc_ = (call);                                               \
    if (specvae_cublas_rc_ != CUBLAS_STATUS_SUCCESS) [[unlikely]]                             \
      ::specvae::fail_check("cuBLAS call `" #call "`", cublasGetStatusString(specvae_cublas_rc_), \
                            std::source_location::current());                                \
  } while (0)

#define SPECVAE_NCCL_CHECK(call)                                                              \
  do {                                                                                        \
    ncclResult_t specvae_nccl_rc_ = (call);                                                   \
    if (specvae_nccl_rc_ != ncclSuccess) [[unlikely]]                                         \
      ::specvae::fail_check("NCCL call `" #call "`", ncclGetErrorString(specvae_nccl_rc_),    \
                            std::source_location::current());                                \
  } while (0)

// After every launch: the launch error, and with the debug switch on, the kernel's own error.
#define SPECVAE_LAUNCH_CHECK(stream)                                                          \
  do {                                                                                        \
    SPECVAE_CUDA_CHECK(cudaGetLastError());                                                   \
    if (::specvae::cuda_debug_sync()) SPECVAE_CUDA_CHECK(cudaStreamSynchronize(stream));      \
  } while (0)

// A launcher's argument precondition (an internal invariant: the caller is our own code).
#define SPECVAE_LAUNCH_REQUIRE(cond, detail)                                                  \
  do {                                                                                        \
    if (!(cond)) [[unlikely]]                                                                 \
      ::specvae::fail_check("kernel launch precondition `" #cond "`", detail,                 \
                            std::source_location::current());                                \
  } while (0)
