// Chooses a backend by name ("reference", "cpu", "cuda", "auto").
#include "cpu_backend.hpp"
#include "reference_backend.hpp"
#include "specvae/core/error.hpp"
#include "specvae/gpu/resources.hpp"
#if SPECVAE_HAVE_CUDA
#include "specvae/gpu/cuda_backend.hpp"
#endif

namespace specvae::model {

std::unique_ptr<Backend> make_backend(const std::string& kind, int threads, const std::string& gemm) {
  if (kind == "reference") return std::make_unique<ReferenceBackend>();
  if (kind == "cpu" || kind == "auto") return std::make_unique<CpuBackend>(threads, gemm);
#if SPECVAE_HAVE_CUDA
  if (kind == "cuda") return gpu::make_cuda_backend(-1, false);  // this rank's GPU (node-local rank)
#endif
  if (kind == "cuda")
    throw ConfigError("train.backend = \"cuda\": this build has no CUDA backend (configure with SPECVAE_ENABLE_CUDA=ON); use \"cpu\"");
  throw ConfigError("train.backend: unknown backend \"" + kind + "\" (expected reference, cpu, cuda or auto)");
}

}  // namespace specvae::model
