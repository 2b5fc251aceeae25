// Config resolution and output locks shared by every subcommand.
#include <cstdio>

#include "specvae/cli/cli.hpp"
#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/dist/distributed.hpp"

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

std::unique_ptr<FolderLock> lock_outputs(const std::filesystem::path& out, OutputKind kind, const std::string& what) {
  auto& comm = *init_distributed(nullptr, nullptr).world;
  auto lock = std::make_unique<FolderLock>();
  std::string failure;
  if (comm.rank() == 0) {
    try {
      const std::filesystem::path dir = kind == OutputKind::kFolder ? out : out.parent_path();
      if (!dir.empty()) std::filesystem::create_directories(dir);
      const std::filesystem::path file = kind == OutputKind::kFolder
                                             ? out / ".specvae-lock"
                                             : dir / ("." + out.filename().string() + ".specvae-lock");
      lock->acquire(file, what);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  failure = comm.broadcast_string(failure);
  if (!failure.empty()) throw InputError(failure);
  return lock;
}

}  // namespace specvae::cli
