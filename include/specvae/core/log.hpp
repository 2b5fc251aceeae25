// Rank-aware logging with levels and timestamps. By default only rank 0 speaks (other ranks
// still print errors); `--log-all-ranks` makes every rank speak, each line tagged with its rank.
#pragma once

#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

namespace specvae::log {

enum class Level { trace, debug, info, warn, error, off };

// Parses "trace|debug|info|warn|error|off"; throws ConfigError otherwise.
Level parse_level(std::string_view name);

// Sets up the process-wide logger. Safe to call again (e.g. after MPI init learns the rank).
void init(int rank, bool all_ranks, Level level);

template <typename... Args>
void trace(spdlog::format_string_t<Args...> f, Args&&... args) { spdlog::trace(f, std::forward<Args>(args)...); }
template <typename... Args>
void debug(spdlog::format_string_t<Args...> f, Args&&... args) { spdlog::debug(f, std::forward<Args>(args)...); }
template <typename... Args>
void info(spdlog::format_string_t<Args...> f, Args&&... args) { spdlog::info(f, std::forward<Args>(args)...); }
template <typename... Args>
void warn(spdlog::format_string_t<Args...> f, Args&&... args) { spdlog::warn(f, std::forward<Args>(args)...); }
template <typename... Args>
void error(spdlog::format_string_t<Args...> f, Args&&... args) { spdlog::error(f, std::forward<Args>(args)...); }

}  // namespace specvae::log
