// `specvae run`: run the whole chain: simulate, ingest, train, score, merge.
#include "specvae/cli/cli.hpp"

namespace specvae::cli {

Command register_run(CLI::App& app, CommonOptions& /*common*/) {
  return not_yet_available(app, "run", "run the whole chain: simulate, ingest, train, score, merge");
}

}  // namespace specvae::cli
