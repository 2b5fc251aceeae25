// Will a stage fit in memory? Each rank estimates its peak from the rows it will hold, and rank
// 0 compares the node's total (the largest rank's estimate × the ranks on its node) with the
// memory the node has free (MemAvailable, within a cgroup's limit where there is one). The
// estimate is logged; a job that will not fit is refused before it loads anything, with the
// number of nodes (or ranks) it needs. runtime.memory_check = false skips the refusal.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "specvae/core/config.hpp"
#include "specvae/dist/communicator.hpp"

namespace specvae {

struct MemoryEstimate {
  double base_bytes = 0;     // libraries, model, buffers: independent of the rows
  double per_row_bytes = 0;  // for each row this rank holds
  double total_row_bytes = 0;  // for each row of the whole dataset (e.g. gathered latent means)
  double bytes(std::int64_t local_rows, std::int64_t total_rows) const {
    return base_bytes + per_row_bytes * static_cast<double>(local_rows) + total_row_bytes * static_cast<double>(total_rows);
  }
};

// The stages' own estimates (README, "Memory"): n_bins per spectrum, n_params of the model.
MemoryEstimate train_memory_estimate(int n_bins, std::int64_t n_params, std::int64_t batch_size);
// pca_rows: the training spectra the PCA yardstick is fitted on (score.pca_sample at most).
MemoryEstimate score_memory_estimate(int n_bins, std::int64_t n_params, int latent, std::int64_t batch_size,
                                     std::int64_t pca_rows);

// Bytes free to this process's node: MemAvailable, or less within a cgroup memory limit.
double available_memory_bytes();

// This process's peak resident memory (VmHWM), bytes; -1 where /proc cannot tell.
double peak_rss_bytes();
// Starts a new peak from the current resident memory (Linux: "5" to /proc/self/clear_refs);
// false where the kernel does not allow it (the next peak is then the process's so far).
bool reset_peak_rss();

// Logs the estimate and throws InputError when the node cannot hold it (collective).
void check_memory(const Config& config, Communicator& comm, int ranks_on_node, const std::string& stage,
                  const MemoryEstimate& e, std::int64_t local_rows, std::int64_t total_rows);

// Bytes free to an unprivileged writer on the file system holding `path` (or its nearest
// existing parent); -1 when it cannot be asked.
double free_disk_bytes(const std::filesystem::path& path);

// Before a long write: rank 0 asks the file system holding `path` and every rank throws the
// same InputError when `bytes` (what `what` needs there) will not fit, naming both numbers
// (collective). Does nothing where free space cannot be asked.
void check_disk_space(Communicator& comm, const std::filesystem::path& path, double bytes, const std::string& what);

}  // namespace specvae
