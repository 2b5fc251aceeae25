// The merge stage driver: shards → checks → catalogue → three files, plus the per-class and
// detection tables (stored in the HDF5 attributes and returned for printing).
#include "specvae/merge/merge.hpp"

#include <fmt/format.h>

#include "specvae/core/commit.hpp"
#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/merge/writers.hpp"

namespace specvae::merge {

namespace fs = std::filesystem;

fs::path catalogue_hdf5_path(const fs::path& d) { return d / "catalogue.h5"; }
fs::path catalogue_fits_path(const fs::path& d) { return d / "catalogue.fits"; }
fs::path top_csv_path(const fs::path& d) { return d / "top_outliers.csv"; }

MergeResult run_merge(const StageContext& ctx, const MergeOptions& o) {
  const Config& config = ctx.config();
  const std::vector<fs::path> paths = o.shards.empty() ? score::find_score_shards(o.shard_dir) : o.shards;
  if (paths.empty())
    throw InputError(fmt::format("merge: no score-shard-*.h5 in {} (run `specvae score` first)", o.shard_dir.string()));
  const double top_fraction = config.get_double("merge.top_fraction");
  Catalogue cat = build_catalogue(read_shards(paths), paths, top_fraction);
  if (cat.n == 0)
    throw InputError(fmt::format("merge: the {} shards hold no rows ({} first)", paths.size(), paths.front().string()));

  MergeResult r;
  r.rows = cat.n;
  r.classes = class_summaries(cat);
  if (!o.truth.empty()) {
    const std::map<std::int64_t, std::string> truth = read_truth_csv(o.truth);
    check_truth_matches(truth, cat.targetid, o.truth);
    r.detection = detection_quality(cat, truth);
    r.classes_normal = class_summaries(cat, &truth);
  }
  fs::create_directories(o.out_dir);
  r.hdf5 = catalogue_hdf5_path(o.out_dir);
  r.fits = catalogue_fits_path(o.out_dir);
  r.csv = top_csv_path(o.out_dir);
  // The three files describe one catalogue: they are written into a staging folder and
  // replace the old ones together, as one journaled commit that a kill cannot leave half done
  // (the next merge, learn or report finishes it). A failure leaves the old set.
  finish_interrupted_commit(o.out_dir, "catalogue");
  {
    StagingDir staging(o.out_dir, "catalogue");
    write_catalogue_hdf5(staging.path() / r.hdf5.filename(), cat, r.classes, r.classes_normal, r.detection);
    write_catalogue_fits(staging.path() / r.fits.filename(), cat);
    write_top_csv(staging.path() / r.csv.filename(), cat, config.get_int("merge.top_n_csv"));
    inject_fault("merge.commit");
    staging.commit({});
  }

  r.report = fmt::format("catalogue of {} spectra from {} shards (dataset {}, model {})\n", cat.n, cat.n_shards,
                         cat.dataset_hash, cat.model_hash);
  r.report += fmt::format("top {:g}% = {} spectra per score; thresholds: mse {:.6g}, recon_logprob {:.6g}, nof {:.6g}\n",
                          100 * top_fraction, cat.n_flagged, cat.threshold[0], cat.threshold[1], cat.threshold[2]);
  r.report += "weighted MSE by SPECTYPE (validation rows):\n" + format_class_table(r.classes);
  if (!r.classes_normal.empty())
    r.report += "the same, injected anomalies left out (truth table):\n" + format_class_table(r.classes_normal);
  if (!r.detection.empty())
    r.report += format_detection_table(r.detection, top_fraction) + format_yardstick_table(r.detection, top_fraction);
  r.report += fmt::format("catalogue: {}\n           {}\n           {}\n", r.hdf5.string(), r.fits.string(),
                          r.csv.string());
  return r;
}

}  // namespace specvae::merge
