// Chooses a backend by name ("reference", "cpu", "cuda", "auto").
#include "cpu_backend.hpp"
#include "reference_backend.hpp"
#include "specvae/core/error.hpp"
#include "specvae/gpu/cuda_backend.hpp"
#include "specvae/gpu/resources.hpp"

namespace specvae::model {

std::unique_ptr<Backend> make_backend(const std::string& kind, int threads, const std::string& gemm, bool tf32,
                                      bool cuda_lt_epilogue) {
  if (kind == "reference") return std::make_unique<ReferenceBackend>();
  if (kind == "cuda" && !cuda_built())
    throw ConfigError("train.backend = \"cuda\": this build has no CUDA backend (configure with SPECVAE_ENABLE_CUDA=ON); use \"cpu\"");
  // This rank's GPU (node-local rank modulo the visible devices); none visible: auto is the CPU.
  if (kind == "cuda" || (kind == "auto" && gpu_device_count() > 0)) return gpu::make_cuda_backend(-1, tf32, cuda_lt_epilogue);
  if (kind == "cpu" || kind == "auto") return std::make_unique<CpuBackend>(threads, gemm);
  throw ConfigError("train.backend: unknown backend \"" + kind + "\" (expected reference, cpu, cuda or auto)");
}

}  // namespace specvae::model
