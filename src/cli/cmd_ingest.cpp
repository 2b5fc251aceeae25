// `specvae ingest`: preprocess DESI coadd + redrock files into one parallel-HDF5 dataset.
#include <filesystem>
#include <memory>

#include "specvae/cli/cli.hpp"
#include "specvae/dist/distributed.hpp"
#include "specvae/ingest/ingest.hpp"

namespace specvae::cli {

Command register_ingest(CLI::App& app, CommonOptions& common) {
  struct Options {
    std::vector<std::string> inputs;
    std::string out, zcatalog;
    bool overwrite = false;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("ingest", "preprocess DESI coadd + redrock files into one parallel-HDF5 dataset");
  sub->add_option("--input", opts->inputs,
                  "folders with coadd-*.fits + redrock-*.fits pairs (matched by name suffix), or the files")
      ->required();
  sub->add_option("--out", opts->out, "dataset to write (HDF5)")->required();
  sub->add_flag("--overwrite", opts->overwrite, "replace an existing output file");
  sub->add_option("--zcatalog", opts->zcatalog,
                  "take redshifts from this catalogue (zpix/zall ZCATALOG HDU) instead of redrock files");
  return Command{sub, [opts, &common]() {
                   const Config config = common.resolve();
                   const auto lock = lock_outputs(opts->out, OutputKind::kFile, "ingest");
                   ingest::IngestOptions o;
                   o.inputs.assign(opts->inputs.begin(), opts->inputs.end());
                   o.out = opts->out;
                   o.overwrite = opts->overwrite;
                   o.zcatalog = opts->zcatalog;
                   ingest::run_ingest(StageContext::world(config), o);
                   return 0;
                 }};
}

}  // namespace specvae::cli
