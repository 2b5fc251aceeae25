// A dense layer's forward pass as one cuBLASLt matmul with the bias (+ ReLU) epilogue:
// Y = act(X·Wᵀ + b), the bias and activation applied to the accumulator before Y is written,
// instead of a cuBLAS SGEMM and a second pass over Y (kernels/layer_ops.cu). Which is faster
// is measured (bench/gpu/bench_gpu_train.cpp); the backend uses this one when asked
// (train.cuda_epilogue = "cublaslt").
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <tuple>

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include "cuda_buffer.hpp"

namespace specvae::gpu {

class LtLinear {
 public:
  explicit LtLinear(bool tf32);
  ~LtLinear();
  LtLinear(const LtLinear&) = delete;
  LtLinear& operator=(const LtLinear&) = delete;

  // Row-major x [m × ldx] (first k columns used), w [n × k], b [n], y [m × n]. False when
  // cuBLASLt offers no algorithm for this shape and these pointers' alignments, or the bias is
  // below 16-byte alignment (the caller then takes the two-pass path); nothing is written then.
  bool forward(const float* x, int ldx, const float* w, const float* b, int m, int n, int k, bool relu, float* y,
               cudaStream_t stream);
  // Layer forwards asked of it, and how many of them went to the two-pass path instead (so a
  // benchmark row labelled cuBLASLt can say what it timed).
  long long calls() const { return calls_; }
  long long fallbacks() const { return fallbacks_; }

 private:
  struct Plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
    bool usable = false;
  };
  // Plans are per shape and per alignment of x, w and y (each 4 to 256 bytes).
  using PlanKey = std::tuple<int, int, int, int, bool, std::uint32_t, std::uint32_t, std::uint32_t>;
  Plan& plan(int m, int n, int k, int ldx, bool relu, std::uint32_t align_x, std::uint32_t align_w, std::uint32_t align_y);

  bool tf32_;
  cublasLtHandle_t handle_ = nullptr;
  CudaBuffer<std::byte> workspace_;
  std::size_t workspace_bytes_ = 0;
  std::map<PlanKey, Plan> plans_;
  long long calls_ = 0, fallbacks_ = 0;
};

}  // namespace specvae::gpu
