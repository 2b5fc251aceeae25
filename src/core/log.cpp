// spdlog set-up: one stderr sink per process, pattern with time, rank and level.
#include "specvae/core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "specvae/core/error.hpp"

namespace specvae::log {

Level parse_level(std::string_view name) {
  if (name == "trace") return Level::trace;
  if (name == "debug") return Level::debug;
  if (name == "info") return Level::info;
  if (name == "warn") return Level::warn;
  if (name == "error") return Level::error;
  if (name == "off") return Level::off;
  throw ConfigError(fmt::format("log level '{}' is not one of trace, debug, info, warn, error, off", name));
}

void init(int rank, bool all_ranks, Level level) {
  auto logger = spdlog::get("specvae");
  if (!logger) {
    logger = spdlog::stderr_color_mt("specvae");
    spdlog::set_default_logger(logger);
  }
  logger->set_pattern(fmt::format("[%Y-%m-%d %H:%M:%S.%e] [rank {}] [%^%l%$] %v", rank));
  auto lvl = static_cast<spdlog::level::level_enum>(static_cast<int>(level));
  // Ranks other than 0 keep their errors visible even when quiet.
  if (rank != 0 && !all_ranks) lvl = std::max(lvl, spdlog::level::err);
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::warn);
}

}  // namespace specvae::log
