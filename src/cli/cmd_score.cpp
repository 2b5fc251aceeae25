// `specvae score`: score every spectrum (weighted MSE, reconstruction probability, LOF).
#include "specvae/cli/cli.hpp"

namespace specvae::cli {

Command register_score(CLI::App& app, CommonOptions& /*common*/) {
  return not_yet_available(app, "score", "score every spectrum (weighted MSE, reconstruction probability, LOF)");
}

}  // namespace specvae::cli
