// specvae: one binary, one subcommand per pipeline stage. Parses the command line, starts
// MPI for the stages, runs the chosen stage and turns bad input into a clear message.
#include <cstdio>
#include <exception>

#include "specvae/cli/cli.hpp"
#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/core/stop_signal.hpp"
#include "specvae/core/version.hpp"
#include "specvae/dist/distributed.hpp"
#include "specvae/gpu/resources.hpp"
#include "specvae/io/hdf5.hpp"

int main(int argc, char** argv) {
  using namespace specvae;
  h5::install_error_handler();  // a full disk is one line naming the file, not an HDF5 stack per rank
  install_stop_handlers();      // SIGUSR1/SIGTERM: training saves its state and exits kExitStopped
  CLI::App app{"specvae: find anomalous spectra in DESI-sized surveys with a variational autoencoder"};
  app.set_version_flag("--version", version_string());
  app.require_subcommand(1);
  app.fallthrough();

  cli::CommonOptions common;
  app.add_option("-c,--config", common.config_path, "TOML configuration file over specvae's defaults (configs/paper.toml: the paper's recipe)")
      ->check(CLI::ExistingFile);
  app.add_option("--set", common.sets, "override one key: section.key=value (repeatable)");
  app.add_option("--log-level", common.log_level, "trace, debug, info, warn, error or off");
  app.add_flag("--log-all-ranks", common.log_all_ranks, "every MPI rank logs (default: rank 0)");

  std::vector<cli::Command> commands = {
      cli::register_simulate(app, common), cli::register_ingest(app, common), cli::register_train(app, common),
      cli::register_score(app, common),    cli::register_merge(app, common),  cli::register_learn(app, common),
      cli::register_report(app, common),   cli::register_run(app, common),    cli::register_config(app, common),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  const cli::Command* chosen = nullptr;
  for (const auto& c : commands)
    if (c.app->parsed()) chosen = &c;
  if (!chosen) return 2;

  DistributedContext* ctx = nullptr;
  int code = 1;
  try {
    log::init(0, common.log_all_ranks, log::Level::info);
    if (chosen->needs_mpi) {
      ctx = &init_distributed(&argc, &argv);
      // Runtime settings from the resolved configuration (stages resolve it again for their keys).
      const Config config = common.resolve();
      log::init(ctx->world_rank, config.get_bool("runtime.log_all_ranks"),
                log::parse_level(config.get_string("runtime.log_level")));
      set_cuda_debug_sync(config.get_bool("runtime.cuda_debug_sync"));
      log::debug("{} on {} rank(s); GPU {}", version_string(), ctx->world_size, ctx->gpu_device);
    }
    code = chosen->run();
  } catch (const Stopped& e) {
    // Every rank stopped at the same point with the state saved: no abort, an exit code a job
    // script can take as "requeue me".
    if (!ctx || ctx->world_rank == 0) {
      std::fprintf(stderr, "specvae %s: %s\n", chosen->app->get_name().c_str(), e.what());
      std::fflush(stderr);
    }
    code = kExitStopped;
  } catch (const std::exception& e) {
    // Bad input, bad config, or a library error: one clear line, then the whole job ends.
    std::fprintf(stderr, "specvae %s: error%s: %s\n", chosen->app->get_name().c_str(),
                 ctx ? fmt::format(" (rank {})", ctx->world_rank).c_str() : "", e.what());
    std::fflush(stderr);
    if (ctx && ctx->world_size > 1) abort_job(1);
    code = 1;
  }
  if (ctx) finalize_distributed();
  return code;
}
