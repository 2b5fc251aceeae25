// Entry point of the train stage: read this rank's contiguous shard of the dataset
// (collective), log the GEMM library in use, and run the trainer.
#include <omp.h>

#include "specvae/model/cpu_gemm.hpp"
#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"
#include "specvae/dist/memory_check.hpp"
#include "specvae/dist/shard_plan.hpp"
#include "specvae/model/vae.hpp"
#include "specvae/train/trainer.hpp"

namespace specvae::train {

TrainResult run_train(const StageContext& ctx, const TrainOptions& options) {
  const Config& config = ctx.config();
  MpiCommunicator& comm = ctx.mpi();
  const std::filesystem::path& data = options.data;
  const DatasetInfo info = read_dataset_info(comm.handle(), data);
  if (info.rows == 0) throw InputError(fmt::format("{}: the dataset has no rows", data.string()));
  const ShardPlan plan(info.rows, comm.size());
  check_memory(config, comm, ctx.local_size(), "train",
               train_memory_estimate(info.n_bins, model::VaeShape::from_config(config).n_params(),
                                     config.get_int("train.batch_size")),
               plan.count(comm.rank()), info.rows);
  if (options.write_outputs) {
    // A checkpoint holds the parameters and Adam's two moments (float each); a fresh run writes
    // two, a resumed one rewrites them through a temporary copy.
    const double checkpoint_bytes =
        12.0 * static_cast<double>(model::VaeShape::from_config(config).n_params()) + 4.0 * info.n_bins + 64e3;
    int existing = 0;
    for (const char* name : {"checkpoint-best.h5", "checkpoint-last.h5"})
      existing += std::filesystem::exists(options.out_dir / name) ? 1 : 0;
    check_disk_space(comm, options.out_dir, checkpoint_bytes * std::max(1, 2 - existing),
                     "the checkpoints (checkpoint-best.h5, checkpoint-last.h5)");
  }
  DatasetRows rows = read_dataset_rows(comm.handle(), data, plan.begin(comm.rank()), plan.count(comm.rank()));

  const int threads = static_cast<int>(config.get_int("train.threads"));
  if (threads > 0) omp_set_num_threads(threads);
  TrainOptions opts = options;
  if (opts.dataset_hash.empty()) opts.dataset_hash = info.dataset_hash;
  Trainer trainer(config, comm, rows, nullptr);
  rows = DatasetRows();  // the trainer holds its own copy: 9 bytes a bin a row back for the run
  if (trainer.backend().host_memory()) {  // the CPU GEMM only matters on the CPU
    const model::GemmLibraryInfo gemm = model::choose_gemm_library(config.get_string("train.gemm"));
    log::info("GEMM: {}, kernel {}{}", gemm.name, gemm.kernel, gemm.note.empty() ? "" : " (" + gemm.note + ")");
    if (gemm.slow_fallback) log::warn("the GEMM kernel is a slow fallback: {}", gemm.note);
  }
  return {trainer.run(opts)};
}

}  // namespace specvae::train
