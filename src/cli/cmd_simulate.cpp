// `specvae simulate`: write a simulated survey in DESI's coadd/redrock formats.
#include "specvae/cli/cli.hpp"

namespace specvae::cli {

Command register_simulate(CLI::App& app, CommonOptions& /*common*/) {
  return not_yet_available(app, "simulate", "write a simulated survey in DESI's coadd/redrock formats");
}

}  // namespace specvae::cli
