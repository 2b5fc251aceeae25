// `specvae learn`: re-rank the catalogue from a user's labels (active learning).
#include "specvae/cli/cli.hpp"

namespace specvae::cli {

Command register_learn(CLI::App& app, CommonOptions& /*common*/) {
  return not_yet_available(app, "learn", "re-rank the catalogue from a user's labels (active learning)");
}

}  // namespace specvae::cli
