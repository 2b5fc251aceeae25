// Chooses a backend by name ("reference", "cpu", "cuda", "auto").
#include "cpu_backend.hpp"
#include "reference_backend.hpp"
#include "specvae/core/error.hpp"
#include "specvae/gpu/resources.hpp"

namespace specvae::model {

std::unique_ptr<Backend> make_backend(const std::string& kind, int threads, const std::string& gemm) {
  if (kind == "reference") return std::make_unique<ReferenceBackend>();
  if (kind == "cpu" || kind == "auto") return std::make_unique<CpuBackend>(threads, gemm);
  if (kind == "cuda")
    throw ConfigError("train.backend = \"cuda\": the CUDA training backend is not part of this build yet; use \"cpu\"");
  throw ConfigError("train.backend: unknown backend \"" + kind + "\" (expected reference, cpu, cuda or auto)");
}

}  // namespace specvae::model
