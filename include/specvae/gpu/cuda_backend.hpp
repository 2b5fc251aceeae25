// The CUDA backend of the VAE (model::Backend on one GPU): cuBLAS SGEMM (optionally TF32
// tensor-core math, train.tf32) and the kernels in kernels/. Declared here as a factory so
// plain C++ (model::make_backend) can construct it without CUDA headers; a build without CUDA
// links src/gpu/stubs_none.cpp, whose factory says so. The backend describes itself
// (Backend::kind, device, device_stream): nothing casts to it.
#pragma once

#include <memory>

#include "specvae/model/backend.hpp"

namespace specvae::gpu {

// A backend on CUDA device `device` (its own streams and cuBLAS handle); device < 0 picks
// default_cuda_device(). tf32: allow TF32 tensor-core math in the GEMMs (≈10 significant
// bits in products; off = IEEE fp32). lt_epilogue: a layer's forward pass as one cuBLASLt
// matmul with the bias (+ ReLU) epilogue instead of SGEMM + a bias/activation kernel
// (train.cuda_epilogue). Throws ConfigError when no such device exists.
std::unique_ptr<model::Backend> make_cuda_backend(int device, bool tf32 = false, bool lt_epilogue = false);

// The node-local rank (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID, MPI_LOCALRANKID) modulo
// the visible devices, as init_distributed assigns GPUs; else the current device; −1 if none.
int default_cuda_device();

}  // namespace specvae::gpu
