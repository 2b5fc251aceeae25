// `specvae config`: prints the resolved configuration (defaults + file + --set) and its hash.
#include <cstdio>
#include <type_traits>
#include <variant>

#include <fmt/format.h>

#include "specvae/cli/cli.hpp"
#include "specvae/core/error.hpp"

namespace specvae::cli {

Command register_config(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand("config", "print the resolved configuration (TOML or JSON) and its hash");
  auto format = std::make_shared<std::string>("toml");
  sub->add_option("--format", *format, "toml or json")->check(CLI::IsMember({"toml", "json"}));
  auto key = std::make_shared<std::string>();
  sub->add_option("--get", *key,
                  "print one key's value alone (a string as it is, a list one item a line), e.g. for a job script: "
                  "--get run.out_dir");
  return Command{sub,
                 [&common, format, key] {
                   Config config = common.resolve();
                   if (!key->empty()) {
                     const ConfigKey* k = find_config_key(*key);
                     if (!k) throw InputError(fmt::format("--get {}: no such configuration key", *key));
                     const auto& v = config.values().at(k->name);
                     std::visit(
                         [](const auto& x) {
                           using X = std::decay_t<decltype(x)>;
                           if constexpr (std::is_same_v<X, std::string>) std::printf("%s\n", x.c_str());
                           else if constexpr (std::is_same_v<X, bool>) std::printf("%s\n", x ? "true" : "false");
                           else if constexpr (std::is_arithmetic_v<X>) std::printf("%s\n", fmt::format("{}", x).c_str());
                           else
                             for (const auto& e : x) std::printf("%s\n", fmt::format("{}", e).c_str());
                         },
                         v);
                     return 0;
                   }
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
