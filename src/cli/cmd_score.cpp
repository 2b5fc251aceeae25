// `specvae score`: score every spectrum (weighted MSE, reconstruction probability, LOF).
#include <filesystem>

#include "specvae/cli/cli.hpp"
#include "specvae/score/score.hpp"

namespace specvae::cli {

Command register_score(CLI::App& app, CommonOptions& common) {
  struct Options {
    std::string data, model, out;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("score", "score every spectrum (weighted MSE, reconstruction probability, LOF)");
  sub->add_option("--data", opts->data, "preprocessed dataset (HDF5, from `specvae ingest`)")->required();
  sub->add_option("--model", opts->model,
                  "checkpoint (HDF5), or the training folder (its checkpoint-best.h5 is used)")->required();
  sub->add_option("--out", opts->out, "output folder for score-shard-<rank>.h5")->required();
  return Command{sub, [opts, &common]() {
                   const Config config = common.resolve();
                   const auto lock = lock_outputs(opts->out, OutputKind::kFolder, "score");
                   score::ScoreOptions o;
                   o.dataset = opts->data;
                   o.checkpoint = std::filesystem::is_directory(opts->model) ? score::default_checkpoint(opts->model)
                                                                             : std::filesystem::path(opts->model);
                   o.out_dir = opts->out;
                   score::run_score(StageContext::world(config), o);
                   return 0;
                 }};
}

}  // namespace specvae::cli
