// `specvae run`: the whole chain in one job (src/pipeline/pipeline.cpp); here only its flags.
#include <memory>
#include <string>

#include "specvae/cli/cli.hpp"
#include "specvae/core/error.hpp"
#include "specvae/pipeline/pipeline.hpp"

namespace specvae::cli {

Command register_run(CLI::App& app, CommonOptions& common) {
  auto config_file = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("run", "run the whole chain: simulate, ingest, train, score, merge, report");
  sub->add_option("config_file", *config_file, "config (TOML); same as --config");
  return Command{sub, [&common, config_file] {
                   if (!config_file->empty()) {
                     if (!common.config_path.empty() && common.config_path != *config_file)
                       throw ConfigError("specvae run: give the config once (positional or --config)");
                     common.config_path = *config_file;
                   }
                   return pipeline::run_pipeline(common.resolve());
                 }};
}

}  // namespace specvae::cli
