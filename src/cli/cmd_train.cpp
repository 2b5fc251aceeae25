// `specvae train`: train the VAE, data-parallel over MPI ranks.
#include "specvae/cli/cli.hpp"
#include "specvae/train/trainer.hpp"

namespace specvae::cli {

Command register_train(CLI::App& app, CommonOptions& common) {
  struct Options {
    std::string data, out;
    bool resume = false, overwrite = false;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("train", "train the VAE, data-parallel over MPI ranks");
  sub->add_option("--data", opts->data, "preprocessed dataset (HDF5, from `specvae ingest`)")->required();
  sub->add_option("--out", opts->out, "output folder: checkpoint-last.h5, checkpoint-best.h5, metrics.jsonl")->required();
  CLI::Option* resume = sub->add_flag("--resume", opts->resume, "continue from OUT/checkpoint-last.h5");
  sub->add_flag("--overwrite", opts->overwrite, "start again in an OUT that holds a training run (its files are replaced)")
      ->excludes(resume);
  return Command{sub, [opts, &common]() {
                   const Config config = common.resolve();
                   const auto lock = lock_outputs(opts->out, OutputKind::kFolder, "train");
                   train::TrainOptions t;
                   t.data = opts->data;
                   t.out_dir = opts->out;
                   t.resume = opts->resume;
                   t.overwrite = opts->overwrite;
                   train::run_train(StageContext::world(config), t);
                   return 0;
                 }};
}

}  // namespace specvae::cli
