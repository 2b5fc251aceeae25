// Chooses a backend by name ("reference", "cpu", "cuda", "auto").
#include "cpu_backend.hpp"
#include "reference_backend.hpp"
#include "specvae/core/error.hpp"
#include "specvae/gpu/resources.hpp"
#if SPECVAE_HAVE_CUDA
#include "specvae/gpu/cuda_backend.hpp"
#endif

namespace specvae::model {

std::unique_ptr<Backend> make_backend(const std::string& kind, int threads, const std::string& gemm, [[maybe_unused]] bool tf32,
                                      [[maybe_unused]] bool cuda_lt_epilogue) {
  if (kind == "reference") return std::make_unique<ReferenceBackend>();
#if SPECVAE_HAVE_CUDA
  // This rank's GPU (node-local rank modulo the visible devices).
  if (kind == "cuda" || (kind == "auto" && gpu_device_count() > 0)) return gpu::make_cuda_backend(-1, tf32, cuda_lt_epilogue);
#endif
  if (kind == "cpu" || kind == "auto") return std::make_unique<CpuBackend>(threads, gemm);
  if (kind == "cuda")
    throw ConfigError("train.backend = \"cuda\": this build has no CUDA backend (configure with SPECVAE_ENABLE_CUDA=ON); use \"cpu\"");
  throw ConfigError("train.backend: unknown backend \"" + kind + "\" (expected reference, cpu, cuda or auto)");
}

}  // namespace specvae::model
