// Version strings from the configure-time header.
#include "specvae/core/version.hpp"

#include "specvae/core/version_info.hpp"

namespace specvae {
std::string version() { return SPECVAE_VERSION_STRING; }
std::string git_commit() { return SPECVAE_GIT_COMMIT; }
std::string version_string() { return std::string("specvae ") + version() + " (commit " + git_commit() + ")"; }
}  // namespace specvae
