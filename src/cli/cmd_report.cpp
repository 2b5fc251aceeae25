// `specvae report`: write the HTML report.
#include "specvae/cli/cli.hpp"

namespace specvae::cli {

Command register_report(CLI::App& app, CommonOptions& /*common*/) {
  return not_yet_available(app, "report", "write the HTML report");
}

}  // namespace specvae::cli
