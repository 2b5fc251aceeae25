// `specvae simulate`: write a simulated survey in DESI's coadd/redrock formats (src/simulate).
#include <cstdio>
#include <memory>

#include "specvae/cli/cli.hpp"
#include "specvae/core/log.hpp"
#include "specvae/dist/distributed.hpp"
#include "specvae/simulate/simulate.hpp"

namespace specvae::cli {

Command register_simulate(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand("simulate", "write a simulated survey in DESI's coadd/redrock formats + truth.csv");
  struct Options {
    std::string out;
    std::int64_t n = -1, seed = -1;
    bool overwrite = false;
  };
  auto opt = std::make_shared<Options>();
  sub->add_option("--out", opt->out, "output folder")->required();
  sub->add_option("--n", opt->n, "number of spectra (simulate.n_spectra)");
  sub->add_option("--seed", opt->seed, "survey seed (simulate.seed)");
  sub->add_flag("--overwrite", opt->overwrite, "replace a survey already in --out");
  return Command{sub, [&common, opt] {
                   Config config = common.resolve();
                   const auto lock = lock_outputs(opt->out, OutputKind::kFolder, "simulate");
                   if (opt->n >= 0) config.set_value("simulate.n_spectra", opt->n);
                   if (opt->seed >= 0) config.set_value("simulate.seed", opt->seed);
                   const sim::SimulateResult s =
                       sim::run_simulate(StageContext::world(config), {opt->out, opt->overwrite});
                   std::int64_t anomalies = 0;
                   for (int k = 1; k < sim::kNumAnomalyKinds; ++k) anomalies += s.anomaly_counts[static_cast<std::size_t>(k)];
                   log::info("simulate: wrote {} spectra in {} coadd/redrock pairs to {} ({:.1f} s): {} galaxies, {} QSO, "
                             "{} stars, {} injected anomalies",
                             s.n_spectra, s.n_files, opt->out, s.seconds, s.class_counts[0], s.class_counts[1],
                             s.class_counts[2], anomalies);
                   return 0;
                 }};
}

}  // namespace specvae::cli
