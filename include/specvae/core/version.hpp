// The version and the git commit this build came from.
#pragma once

#include <string>

namespace specvae {
// "0.1.0"
std::string version();
// The git commit (`git describe --always --dirty`), "unknown" outside a checkout.
std::string git_commit();
// "specvae 0.1.0 (commit 0123abcd)"
std::string version_string();
}  // namespace specvae
