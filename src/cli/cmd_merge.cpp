// `specvae merge`: merge per-rank score shards into one catalogue (rank 0 works, others wait).
#include <cstdio>
#include <filesystem>

#include "specvae/cli/cli.hpp"
#include "specvae/dist/distributed.hpp"
#include "specvae/merge/merge.hpp"

namespace specvae::cli {

Command register_merge(CLI::App& app, CommonOptions& common) {
  struct Options {
    std::vector<std::string> shards;
    std::string out, truth;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("merge", "merge per-rank score shards into one catalogue");
  sub->add_option("--shards", opts->shards, "the score folder, or the score-shard-*.h5 files")->required();
  sub->add_option("--out", opts->out, "output folder: catalogue.h5, catalogue.fits, top_outliers.csv")->required();
  sub->add_option("--truth", opts->truth, "truth.csv of a simulated survey: adds the detection-quality table");
  return Command{sub, [opts, &common]() {
                   const Config config = common.resolve();
                   const auto lock = lock_outputs(opts->out, OutputKind::kFolder, "merge");
                   auto& ctx = init_distributed(nullptr, nullptr);
                   if (ctx.world_rank == 0) {
                     merge::MergeOptions o;
                     if (opts->shards.size() == 1 && std::filesystem::is_directory(opts->shards[0]))
                       o.shard_dir = opts->shards[0];
                     else
                       o.shards.assign(opts->shards.begin(), opts->shards.end());
                     o.out_dir = opts->out;
                     o.truth = opts->truth;
                     const merge::MergeResult r = merge::run_merge(StageContext(config), o);
                     std::printf("%s", r.report.c_str());
                     std::fflush(stdout);
                   }
                   ctx.world->barrier();
                   return 0;
                 }};
}

}  // namespace specvae::cli
