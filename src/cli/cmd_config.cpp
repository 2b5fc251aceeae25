// `specvae config`: prints the resolved configuration (defaults + file + --set) and its hash.
#include <cstdio>

#include "specvae/cli/cli.hpp"

namespace specvae::cli {

Command register_config(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand("config", "print the resolved configuration (TOML or JSON) and its hash");
  auto format = std::make_shared<std::string>("toml");
  sub->add_option("--format", *format, "toml or json")->check(CLI::IsMember({"toml", "json"}));
  return Command{sub,
                 [&common, format] {
                   Config config = common.resolve();
                   if (*format == "json") {
                     std::printf("%s\n", config.to_json().c_str());
                   } else {
                     std::printf("# specvae resolved configuration, hash %s\n\n%s", config.hash().c_str(),
                                 config.to_toml().c_str());
                   }
                   return 0;
                 },
                 /*needs_mpi=*/false};
}

}  // namespace specvae::cli
