// `specvae learn`: re-rank the catalogue from a user's labels (active learning; rank 0 works,
// others wait).
#include <cstdio>
#include <filesystem>

#include "specvae/cli/cli.hpp"
#include "specvae/dist/distributed.hpp"
#include "specvae/learn/learn.hpp"

namespace specvae::cli {

namespace fs = std::filesystem;

Command register_learn(CLI::App& app, CommonOptions& common) {
  struct Options {
    std::string catalogue, labels, out;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("learn", "re-rank the catalogue from a user's labels (active learning)");
  sub->add_option("--catalogue", opts->catalogue, "catalogue.h5 from `specvae merge`, or its folder")->required();
  sub->add_option("--labels", opts->labels, "CSV with a header naming 'targetid' and 'label' (-1 unlabelled, 0-5)")
      ->required();
  sub->add_option("--out", opts->out, "output folder: learn_scores.csv (learn's columns also go into the catalogue)")->required();
  return Command{sub, [opts, &common]() {
                   const Config config = common.resolve();
                   const auto lock = lock_outputs(opts->out, OutputKind::kFolder, "learn");
                   // learn also writes its columns into the catalogue: no merge at the same time.
                   const fs::path cat_dir = fs::is_directory(opts->catalogue) ? fs::path(opts->catalogue)
                                                                             : fs::path(opts->catalogue).parent_path();
                   std::error_code ec;
                   std::unique_ptr<FolderLock> cat_lock;
                   if (!fs::equivalent(cat_dir.empty() ? fs::path(".") : cat_dir, opts->out, ec))
                     cat_lock = lock_outputs(cat_dir.empty() ? fs::path(".") : cat_dir, OutputKind::kFolder, "learn");
                   auto& ctx = init_distributed(nullptr, nullptr);
                   if (ctx.world_rank == 0) {
                     learn::LearnOptions o;
                     o.catalogue = opts->catalogue;
                     o.labels = opts->labels;
                     o.out_dir = opts->out;
                     const learn::LearnResult r = learn::run_learn(StageContext(config), o);
                     std::printf("%s", r.report.c_str());
                     std::fflush(stdout);
                   }
                   ctx.world->barrier();
                   return 0;
                 }};
}

}  // namespace specvae::cli
