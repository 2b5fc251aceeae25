// The thin command-line layer over the stage functions: shared options, config resolution,
// and one registration function per subcommand (src/cli/cmd_*.cpp).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "specvae/core/config.hpp"
#include "specvae/core/folder_lock.hpp"

namespace specvae::cli {

// Options every subcommand accepts (before or after the subcommand's name).
struct CommonOptions {
  std::string config_path;         // --config FILE (TOML)
  std::vector<std::string> sets;   // --set section.key=value, repeatable
  std::string log_level;           // --log-level (overrides runtime.log_level)
  bool log_all_ranks = false;      // --log-all-ranks

  // Defaults, then the file, then every --set in order, then the log flags.
  Config resolve() const;
};

// What a parsed subcommand runs; returns the process exit code.
using CommandFn = std::function<int()>;
struct Command {
  CLI::App* app = nullptr;
  CommandFn run;
  bool needs_mpi = true;  // `config` runs without MPI start-up
};

// One writer at a time for a stage command's outputs: rank 0 holds `<out>/.specvae-lock` (an
// output folder, created if missing) or `.<name>.specvae-lock` beside an output file until the
// returned lock goes; every rank throws the refusal, which names the holder.
enum class OutputKind { kFolder, kFile };
std::unique_ptr<FolderLock> lock_outputs(const std::filesystem::path& out, OutputKind kind, const std::string& what);

Command register_config(CLI::App& app, CommonOptions& common);
Command register_simulate(CLI::App& app, CommonOptions& common);
Command register_ingest(CLI::App& app, CommonOptions& common);
Command register_train(CLI::App& app, CommonOptions& common);
Command register_score(CLI::App& app, CommonOptions& common);
Command register_merge(CLI::App& app, CommonOptions& common);
Command register_learn(CLI::App& app, CommonOptions& common);
Command register_report(CLI::App& app, CommonOptions& common);
Command register_run(CLI::App& app, CommonOptions& common);

}  // namespace specvae::cli
