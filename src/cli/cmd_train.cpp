// `specvae train`: train the VAE, data-parallel over MPI ranks.
#include "specvae/cli/cli.hpp"

namespace specvae::cli {

Command register_train(CLI::App& app, CommonOptions& /*common*/) {
  return not_yet_available(app, "train", "train the VAE, data-parallel over MPI ranks");
}

}  // namespace specvae::cli
