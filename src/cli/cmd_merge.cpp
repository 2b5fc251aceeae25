// `specvae merge`: merge per-rank score shards into one catalogue.
#include "specvae/cli/cli.hpp"

namespace specvae::cli {

Command register_merge(CLI::App& app, CommonOptions& /*common*/) {
  return not_yet_available(app, "merge", "merge per-rank score shards into one catalogue");
}

}  // namespace specvae::cli
