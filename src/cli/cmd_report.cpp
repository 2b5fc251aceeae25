// `specvae report`: write the self-contained HTML report (rank 0 works, others wait).
#include <cstdio>

#include "specvae/cli/cli.hpp"
#include "specvae/dist/distributed.hpp"
#include "specvae/report/report.hpp"

namespace specvae::cli {

Command register_report(CLI::App& app, CommonOptions& common) {
  struct Options {
    std::string catalogue, dataset, checkpoint, metrics, truth, learn_scores, labels, out;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("report", "write the HTML report (figures, outliers, labelling view)");
  sub->add_option("--catalogue", opts->catalogue, "catalogue.h5 from `specvae merge`, or its folder")->required();
  sub->add_option("--out", opts->out, "the HTML file to write (or a folder: report.html in it)")->required();
  sub->add_option("--dataset", opts->dataset, "dataset.h5 (default: the one the catalogue was scored on)");
  sub->add_option("--checkpoint", opts->checkpoint, "model checkpoint (default: the one the catalogue was scored with)");
  sub->add_option("--metrics", opts->metrics, "training metrics.jsonl (default: beside the checkpoint)");
  sub->add_option("--truth", opts->truth, "truth.csv of a simulated survey: injected anomalies marked and measured");
  sub->add_option("--learn-scores", opts->learn_scores, "learn_scores.csv from `specvae learn`: the labelling view follows it");
  sub->add_option("--labels", opts->labels, "labels CSV (targetid,label) to start the labelling view from");
  return Command{sub, [opts, &common]() {
                   const Config config = common.resolve();
                   const auto kind = std::filesystem::is_directory(opts->out) ? OutputKind::kFolder : OutputKind::kFile;
                   const auto lock = lock_outputs(opts->out, kind, "report");
                   auto& ctx = init_distributed(nullptr, nullptr);
                   if (ctx.world_rank == 0) {
                     report::ReportOptions o;
                     o.catalogue = opts->catalogue;
                     o.dataset = opts->dataset;
                     o.checkpoint = opts->checkpoint;
                     o.metrics = opts->metrics;
                     o.truth = opts->truth;
                     o.learn_scores = opts->learn_scores;
                     o.labels = opts->labels;
                     o.out = opts->out;
                     const report::ReportResult r = report::run_report(StageContext(config), o);
                     std::printf("%s", r.summary.c_str());
                     std::fflush(stdout);
                   }
                   ctx.world->barrier();
                   return 0;
                 }};
}

}  // namespace specvae::cli
