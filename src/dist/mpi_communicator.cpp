// MPI implementation of Communicator. Large buffers are sent in pieces so that counts fit
// MPI's int arguments (a 30M-row all-gather of latent means is 1.2 GB).
#include <algorithm>
#include <climits>

#include "specvae/core/error.hpp"
#include "specvae/dist/communicator.hpp"

namespace specvae {
namespace {
constexpr std::size_t kPiece = std::size_t(1) << 30;  // elements or bytes per MPI call

template <typename T>
void allreduce_pieces(MPI_Comm comm, T* data, std::size_t n, MPI_Datatype type, MPI_Op op) {
  for (std::size_t off = 0; off < n; off += kPiece) {
    int count = int(std::min(kPiece, n - off));
    SPECVAE_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, data + off, count, type, op, comm));
  }
}
}  // namespace

namespace detail {
std::string mpi_error_string(int code) {
  char buffer[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, buffer, &len) != MPI_SUCCESS) return fmt::format("MPI error {}", code);
  return std::string(buffer, std::size_t(len));
}
}  // namespace detail

MpiCommunicator::MpiCommunicator(MPI_Comm comm) : comm_(comm) {
  SPECVAE_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  SPECVAE_MPI_CHECK(MPI_Comm_size(comm_, &size_));
}

void MpiCommunicator::allreduce_sum(std::span<float> d) { allreduce_pieces(comm_, d.data(), d.size(), MPI_FLOAT, MPI_SUM); }
void MpiCommunicator::allreduce_sum(std::span<double> d) { allreduce_pieces(comm_, d.data(), d.size(), MPI_DOUBLE, MPI_SUM); }
void MpiCommunicator::allreduce_sum(std::span<std::int64_t> d) {
  allreduce_pieces(comm_, d.data(), d.size(), MPI_INT64_T, MPI_SUM);
}
void MpiCommunicator::allreduce_max(std::span<double> d) { allreduce_pieces(comm_, d.data(), d.size(), MPI_DOUBLE, MPI_MAX); }
void MpiCommunicator::allreduce_min(std::span<double> d) { allreduce_pieces(comm_, d.data(), d.size(), MPI_DOUBLE, MPI_MIN); }

void MpiCommunicator::allgather_bytes(const void* send, std::size_t bytes, void* recv) {
  SPECVAE_CHECK(bytes <= std::size_t(INT_MAX), "allgather of {} bytes per rank is too large", bytes);
  SPECVAE_MPI_CHECK(MPI_Allgather(send, int(bytes), MPI_BYTE, recv, int(bytes), MPI_BYTE, comm_));
}

void MpiCommunicator::allgatherv_bytes(const void* send, std::span<const std::size_t> counts, void* recv) {
  SPECVAE_CHECK(counts.size() == std::size_t(size_), "allgatherv needs one count per rank");
  std::size_t total = 0;
  for (auto c : counts) total += c;
  if (total <= std::size_t(INT_MAX)) {
    std::vector<int> icounts(counts.size()), displs(counts.size());
    int offset = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      icounts[r] = int(counts[r]);
      displs[r] = offset;
      offset += icounts[r];
    }
    // A rank with nothing to send still passes a valid (possibly null) buffer of count 0.
    SPECVAE_MPI_CHECK(MPI_Allgatherv(send, icounts[std::size_t(rank_)], MPI_BYTE, recv, icounts.data(),
                                     displs.data(), MPI_BYTE, comm_));
    return;
  }
  // Past 2 GB: each rank broadcasts its part in pieces.
  auto* out = static_cast<char*>(recv);
  std::size_t offset = 0;
  for (int r = 0; r < size_; ++r) {
    if (r == rank_ && counts[std::size_t(r)] > 0) std::copy_n(static_cast<const char*>(send), counts[std::size_t(r)], out + offset);
    broadcast_bytes(out + offset, counts[std::size_t(r)], r);
    offset += counts[std::size_t(r)];
  }
}

std::int64_t MpiCommunicator::exclusive_scan_sum(std::int64_t value) {
  std::int64_t result = 0;
  SPECVAE_MPI_CHECK(MPI_Exscan(&value, &result, 1, MPI_INT64_T, MPI_SUM, comm_));
  return rank_ == 0 ? 0 : result;  // MPI leaves rank 0's result undefined
}

void MpiCommunicator::broadcast_bytes(void* data, std::size_t bytes, int root) {
  auto* p = static_cast<char*>(data);
  for (std::size_t off = 0; off < bytes; off += kPiece)
    SPECVAE_MPI_CHECK(MPI_Bcast(p + off, int(std::min(kPiece, bytes - off)), MPI_BYTE, root, comm_));
}

void MpiCommunicator::barrier() { SPECVAE_MPI_CHECK(MPI_Barrier(comm_)); }

}  // namespace specvae
