// Per-rank peak-memory estimates of train and score, and the refusal of a job that will not fit
// (see memory_check.hpp). The per-row terms count the arrays the stages hold; the base is the
// measured footprint of the libraries (MPI, BLAS, HDF5) plus the model's buffers.
#include "specvae/dist/memory_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"

namespace specvae {
namespace {

constexpr double kRuntimeBytes = 260e6;  // MPI, OpenBLAS/oneDNN, HDF5, FAISS loaded (measured)
// The per-row columns (io/row_columns.hpp): three 32-byte strings (short values sit inside
// std::string) and ten numbers.
constexpr double kRowMetadataBytes = 170;

// A cgroup's memory limit less its usage (v2, then v1), or +inf where there is none.
double cgroup_free_bytes() {
  const auto read_number = [](const char* path, double& v) {
    std::ifstream in(path);
    std::string s;
    if (!(in >> s) || s == "max") return false;
    v = std::stod(s);
    return true;
  };
  double limit = 0, usage = 0;
  if (read_number("/sys/fs/cgroup/memory.max", limit) && read_number("/sys/fs/cgroup/memory.current", usage))
    return std::max(0.0, limit - usage);
  if (read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes", limit) && limit < 1e18 &&
      read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes", usage))
    return std::max(0.0, limit - usage);
  return std::numeric_limits<double>::infinity();
}

std::string gb(double bytes) { return fmt::format("{:.2f} GB", bytes / 1e9); }

}  // namespace

MemoryEstimate train_memory_estimate(int n_bins, std::int64_t n_params, std::int64_t batch_size) {
  MemoryEstimate e;
  // The rows as read (flux, ivar: float; mask: byte) and the trainer's copy (x, weights: float).
  e.per_row_bytes = 17.0 * n_bins + kRowMetadataBytes;
  // Parameters, gradients, two Adam moments and a checkpoint's copy; batch activations.
  e.base_bytes = kRuntimeBytes + 5.0 * 4.0 * static_cast<double>(n_params) + 16.0 * 4.0 * batch_size * n_bins;
  return e;
}

MemoryEstimate score_memory_estimate(int n_bins, std::int64_t n_params, int latent, std::int64_t batch_size,
                                     std::int64_t pca_rows) {
  MemoryEstimate e;
  // The rows as read, the shard's copy of their columns, their scores and latent moments, and
  // the k = 20 neighbours of each.
  e.per_row_bytes = 9.0 * n_bins + 2 * kRowMetadataBytes + 8.0 * latent + 4 * 8.0 + 20 * 12.0;
  // LOF all-gathers every latent mean, k-distance and lrd, and indexes the means once more.
  e.total_row_bytes = 2 * 4.0 * latent + 2 * 8.0;
  // The model, a pass's activations (≈ 8 floats a bin a row), the PCA yardstick's sample (double).
  e.base_bytes = kRuntimeBytes + 2.0 * 4.0 * static_cast<double>(n_params) + 8.0 * 4.0 * batch_size * n_bins +
                 8.0 * static_cast<double>(pca_rows) * n_bins;
  return e;
}

double available_memory_bytes() {
  double avail = std::numeric_limits<double>::infinity();
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  std::string unit;
  while (in >> key >> kb) {
    std::getline(in, unit);
    if (key == "MemAvailable:") {
      avail = kb * 1024.0;
      break;
    }
  }
  return std::min(avail, cgroup_free_bytes());
}

void check_memory(const Config& config, Communicator& comm, int ranks_on_node, const std::string& stage,
                  const MemoryEstimate& e, std::int64_t local_rows, std::int64_t total_rows) {
  const double per_rank = comm.allreduce_max(e.bytes(local_rows, total_rows)), node = per_rank * std::max(1, ranks_on_node);
  std::string failure;
  if (comm.rank() == 0) {
    const double avail = available_memory_bytes();
    log::info("{}: memory estimate {} per rank ({} + {:.1f} KB per row held), {} for the {} ranks of a node; {} "
              "available",
              stage, gb(per_rank), gb(e.base_bytes), e.per_row_bytes / 1e3, gb(node), std::max(1, ranks_on_node),
              std::isfinite(avail) ? gb(avail) : std::string("unknown"));
    if (std::isfinite(avail) && node > avail && config.get_bool("runtime.memory_check")) {
      // Rows per rank that fit, and the ranks (at this many per node) that would hold them.
      const double per_rank_room = avail / std::max(1, ranks_on_node) - e.base_bytes - e.total_row_bytes * total_rows;
      const double rows_fit = per_rank_room / e.per_row_bytes;
      std::string need;
      if (rows_fit >= 1) {
        const double ranks = std::ceil(static_cast<double>(total_rows) / rows_fit);
        need = fmt::format("about {:.0f} ranks at {} per node ({:.0f} nodes)", ranks, std::max(1, ranks_on_node),
                           std::ceil(ranks / std::max(1, ranks_on_node)));
      } else {
        need = "fewer ranks per node (the fixed part alone does not fit)";
      }
      failure = fmt::format("{}: {} rows need ≈ {} per rank, {} on this node with {} ranks, where {} are available: use "
                            "{}, or set runtime.memory_check = false to try anyway",
                            stage, total_rows, gb(per_rank), gb(node), std::max(1, ranks_on_node), gb(avail), need);
    }
  }
  failure = comm.broadcast_string(failure);
  if (!failure.empty()) throw InputError(failure);
}

double free_disk_bytes(const std::filesystem::path& path) {
  std::filesystem::path p = path.empty() ? std::filesystem::path(".") : std::filesystem::absolute(path);
  std::error_code ec;
  while (!std::filesystem::exists(p, ec) && p.has_parent_path() && p != p.parent_path()) p = p.parent_path();
  const std::filesystem::space_info sp = std::filesystem::space(p, ec);
  if (ec) return -1;
  return static_cast<double>(sp.available);
}

void check_disk_space(Communicator& comm, const std::filesystem::path& path, double bytes, const std::string& what) {
  double free = comm.rank() == 0 ? free_disk_bytes(path) : 0.0;
  comm.broadcast(std::span<double>(&free, 1), 0);
  if (free < 0 || free >= bytes) return;
  const auto mb = [](double b) { return fmt::format("{:.1f} MB", b / 1e6); };
  throw InputError(fmt::format("{}: not enough space for {}: about {} needed, {} free on its file system; free some "
                               "space (or point the output elsewhere) and run again: nothing was written",
                               path.string(), what, mb(bytes), mb(free)));
}

double peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) * 1024.0;  // "VmHWM:  1234 kB"
  return -1;
}

bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace specvae
