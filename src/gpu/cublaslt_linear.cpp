// LtLinear (see cublaslt_linear.hpp). Row-major Y = X·Wᵀ is column-major Yᵀ = W·Xᵀ read
// through the transposes: A = W (stored k × n column-major, op T), B = X (k × m, ld = ldx,
// op N), D = Yᵀ (n × m, ld = n); the epilogue's bias runs along D's rows, i.e. one value per
// output feature, as the layer's bias.
#include "cublaslt_linear.hpp"

#include <cstdint>

#include "cuda_check.cuh"

namespace specvae::gpu {

namespace {
constexpr std::size_t kWorkspaceBytes = std::size_t{32} << 20;  // cuBLAS's own default on Hopper

// The largest power of two (4 to 256 bytes) that divides the address. A layer's weights and
// bias are offsets into the flat parameter buffer, so their alignment follows the layer sizes
// (an odd latent size leaves the decoder's at 8 bytes); cuBLASLt's heuristic assumes 256
// unless told, and may then pick a kernel that cannot run on the real pointers.
std::uint32_t alignment_of(const void* p) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  std::uint32_t al = 256;
  while (al > 4 && a % al != 0) al /= 2;
  return al;
}
}

LtLinear::LtLinear(bool tf32) : tf32_(tf32) { SPECVAE_CUBLAS_CHECK(cublasLtCreate(&handle_)); }

LtLinear::~LtLinear() {
  for (auto& [key, p] : plans_) {
    if (p.a) cublasLtMatrixLayoutDestroy(p.a);
    if (p.b) cublasLtMatrixLayoutDestroy(p.b);
    if (p.c) cublasLtMatrixLayoutDestroy(p.c);
    if (p.op) cublasLtMatmulDescDestroy(p.op);
  }
  if (handle_) cublasLtDestroy(handle_);
}

LtLinear::Plan& LtLinear::plan(int m, int n, int k, int ldx, bool relu, std::uint32_t align_x, std::uint32_t align_w,
                                std::uint32_t align_y) {
  const PlanKey key{m, n, k, ldx, relu, align_x, align_w, align_y};
  if (auto it = plans_.find(key); it != plans_.end()) return it->second;
  Plan& p = plans_[key];
  SPECVAE_CUBLAS_CHECK(
      cublasLtMatmulDescCreate(&p.op, tf32_ ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  SPECVAE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
  SPECVAE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
  const cublasLtEpilogue_t epilogue = relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
  SPECVAE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue));
  SPECVAE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_32F, k, n, k));
  SPECVAE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_32F, k, m, ldx));
  SPECVAE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_32F, n, m, n));
  if (!workspace_) {
    workspace_ = CudaBuffer<std::byte>::device(kWorkspaceBytes);
    workspace_bytes_ = kWorkspaceBytes;
  }
  cublasLtMatmulPreference_t pref = nullptr;
  SPECVAE_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  SPECVAE_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                            &workspace_bytes_, sizeof workspace_bytes_));
  // A is w, B is x, C and D are y (see the top of this file).
  SPECVAE_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_w,
                                                            sizeof align_w));
  SPECVAE_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_x,
                                                            sizeof align_x));
  SPECVAE_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_y,
                                                            sizeof align_y));
  SPECVAE_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_y,
                                                            sizeof align_y));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t rc =
      cublasLtMatmulAlgoGetHeuristic(handle_, p.op, p.a, p.b, p.c, p.c, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  p.usable = rc == CUBLAS_STATUS_SUCCESS && found > 0;
  if (p.usable) p.algo = result.algo;
  return p;
}

bool LtLinear::forward(const float* x, int ldx, const float* w, const float* b, int m, int n, int k, bool relu,
                       float* y, cudaStream_t stream) {
  if (m <= 0 || n <= 0) return true;
  ++calls_;
  const auto fall_back = [&] {
    ++fallbacks_;
    return false;
  };
  if (k <= 0) return fall_back();  // no product: the two-pass path writes act(b)
  // The epilogue reads the bias in vectors: a bias below 16-byte alignment takes the two-pass
  // path rather than risk a misaligned access, which would poison the context.
  if (alignment_of(b) < 16) return fall_back();
  Plan& p = plan(m, n, k, ldx, relu, alignment_of(x), alignment_of(w), alignment_of(y));
  if (!p.usable) return fall_back();
  // The bias pointer changes from layer to layer: set it on each call (a host-side attribute).
  SPECVAE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &b, sizeof b));
  const float alpha = 1.0f, beta = 0.0f;
  const cublasStatus_t rc = cublasLtMatmul(handle_, p.op, &alpha, w, p.a, x, p.b, &beta, y, p.c, y, p.c, &p.algo,
                                           workspace_.get(), workspace_bytes_, stream);
  if (rc == CUBLAS_STATUS_NOT_SUPPORTED) {  // nothing was launched: the two-pass path from now on
    p.usable = false;
    return fall_back();
  }
  SPECVAE_CUBLAS_CHECK(rc);
  return true;
}

}  // namespace specvae::gpu
