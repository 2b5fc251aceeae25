// The collectives every stage needs, behind one interface: MPI between processes, and an
// in-process implementation (one thread per rank) so distributed logic is unit-testable
// without mpirun. Every call is collective: all ranks call it, also ranks that own no rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <mpi.h>

namespace specvae {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // In-place element-wise sums over ranks. The reduction order is fixed (rank 0 first) in
  // the in-process implementation; MPI's order is its own but deterministic for a rank count.
  virtual void allreduce_sum(std::span<float> data) = 0;
  virtual void allreduce_sum(std::span<double> data) = 0;
  virtual void allreduce_sum(std::span<std::int64_t> data) = 0;
  virtual void allreduce_max(std::span<double> data) = 0;
  virtual void allreduce_min(std::span<double> data) = 0;

  // Every rank contributes `bytes` bytes; recv holds size()*bytes, rank order.
  virtual void allgather_bytes(const void* send, std::size_t bytes, void* recv) = 0;
  // Rank r contributes counts[r] bytes; recv holds their concatenation in rank order.
  virtual void allgatherv_bytes(const void* send, std::span<const std::size_t> counts, void* recv) = 0;
  // In-place reduce-scatter of float sums: `data` (Σ counts floats) is this rank's whole
  // contribution, cut into consecutive chunks of counts[r]; on return chunk rank() holds the
  // sum over ranks and the other chunks hold partial sums. The order of the additions is
  // fixed for a rank count.
  virtual void reduce_scatter_sum(std::span<float> data, std::span<const std::size_t> counts) = 0;
  // In-place all-gather: chunk r of `data` (counts[r] floats, consecutive) comes from rank r.
  virtual void allgather_in_place(std::span<float> data, std::span<const std::size_t> counts) = 0;
  virtual std::int64_t exclusive_scan_sum(std::int64_t value) = 0;
  virtual void broadcast_bytes(void* data, std::size_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // Personalised exchange: send_counts[r] bytes of `send` (consecutive, in rank order) go to
  // rank r; returns what each rank sent here, concatenated in rank order.
  virtual std::vector<char> alltoallv_bytes(const void* send, std::span<const std::size_t> send_counts) = 0;

  // Typed helpers over the byte collectives.
  double allreduce_sum(double v) { allreduce_sum(std::span<double>(&v, 1)); return v; }
  std::int64_t allreduce_sum(std::int64_t v) { allreduce_sum(std::span<std::int64_t>(&v, 1)); return v; }
  double allreduce_max(double v) { allreduce_max(std::span<double>(&v, 1)); return v; }
  double allreduce_min(double v) { allreduce_min(std::span<double>(&v, 1)); return v; }

  template <typename T>
  std::vector<T> allgather(const T& value) {
    std::vector<T> out(static_cast<std::size_t>(size()));
    allgather_bytes(&value, sizeof(T), out.data());
    return out;
  }

  // Concatenation of every rank's span, in rank order (ranks may contribute nothing).
  template <typename T>
  std::vector<T> allgatherv(std::span<const T> local) {
    std::vector<std::uint64_t> counts64 = allgather<std::uint64_t>(local.size());
    std::vector<std::size_t> bytes(counts64.size());
    std::size_t total = 0;
    for (std::size_t r = 0; r < counts64.size(); ++r) {
      bytes[r] = counts64[r] * sizeof(T);
      total += counts64[r];
    }
    std::vector<T> out(total);
    allgatherv_bytes(local.data(), bytes, out.data());
    return out;
  }

  // Typed alltoallv: `counts[r]` elements of `send` go to rank r.
  template <typename T>
  std::vector<T> alltoallv(std::span<const T> send, std::span<const std::size_t> counts) {
    std::vector<std::size_t> bytes(counts.begin(), counts.end());
    for (auto& b : bytes) b *= sizeof(T);
    const std::vector<char> raw = alltoallv_bytes(send.data(), bytes);
    std::vector<T> out(raw.size() / sizeof(T));
    if (!raw.empty()) std::memcpy(out.data(), raw.data(), raw.size());
    return out;
  }

  template <typename T>
  void broadcast(std::span<T> data, int root) { broadcast_bytes(data.data(), data.size_bytes(), root); }

  // Rank 0's text, on every rank (the others pass anything).
  std::string broadcast_string(std::string text) {
    std::int64_t len = static_cast<std::int64_t>(text.size());
    broadcast(std::span<std::int64_t>(&len, 1), 0);
    text.resize(static_cast<std::size_t>(len));
    if (len > 0) broadcast_bytes(text.data(), text.size(), 0);
    return text;
  }
};

// MPI implementation over a communicator it does not own (MPI_COMM_WORLD by default).
class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_WORLD);
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  MPI_Comm handle() const { return comm_; }

  void allreduce_sum(std::span<float> data) override;
  void allreduce_sum(std::span<double> data) override;
  void allreduce_sum(std::span<std::int64_t> data) override;
  void allreduce_max(std::span<double> data) override;
  void allreduce_min(std::span<double> data) override;
  void allgather_bytes(const void* send, std::size_t bytes, void* recv) override;
  void allgatherv_bytes(const void* send, std::span<const std::size_t> counts, void* recv) override;
  void reduce_scatter_sum(std::span<float> data, std::span<const std::size_t> counts) override;
  void allgather_in_place(std::span<float> data, std::span<const std::size_t> counts) override;
  std::int64_t exclusive_scan_sum(std::int64_t value) override;
  void broadcast_bytes(void* data, std::size_t bytes, int root) override;
  std::vector<char> alltoallv_bytes(const void* send, std::span<const std::size_t> send_counts) override;
  void barrier() override;
  using Communicator::allreduce_max;
  using Communicator::allreduce_min;
  using Communicator::allreduce_sum;

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
  std::vector<float> scratch_;  // reduce_scatter_sum's receive buffer, kept between calls
};

// Runs fn(communicator) on `ranks` threads that talk through shared memory, and rethrows the
// first exception any of them raised. For unit tests of distributed logic.
void run_in_process(int ranks, const std::function<void(Communicator&)>& fn);

}  // namespace specvae
