// Config resolution shared by every subcommand, and the placeholder for stages to come.
#include <cstdio>

#include "specvae/cli/cli.hpp"
#include "specvae/core/log.hpp"

namespace specvae::cli {

Config CommonOptions::resolve() const {
  Config config = config_path.empty() ? Config::defaults() : Config::from_file(config_path);
  for (const auto& s : sets) config.set(s);
  if (!log_level.empty()) config.set_value("runtime.log_level", log_level);
  if (log_all_ranks) config.set_value("runtime.log_all_ranks", true);
  // Validate the flag's value through the same parser as the config key.
  (void)log::parse_level(config.get_string("runtime.log_level"));
  return config;
}

}  // namespace specvae::cli
