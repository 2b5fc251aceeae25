// `specvae ingest`: preprocess DESI coadd + redrock files into one parallel-HDF5 dataset.
#include "specvae/cli/cli.hpp"

namespace specvae::cli {

Command register_ingest(CLI::App& app, CommonOptions& /*common*/) {
  return not_yet_available(app, "ingest", "preprocess DESI coadd + redrock files into one parallel-HDF5 dataset");
}

}  // namespace specvae::cli
