// In-process Communicator: one thread per rank, collectives through a shared slot table and
// a reusable barrier. Reductions add contributions in rank order, so results are exactly
// reproducible. Used by unit tests to exercise distributed logic without mpirun.
#include <algorithm>
#include <barrier>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "specvae/core/error.hpp"
#include "specvae/dist/communicator.hpp"

namespace specvae {
namespace {

struct SharedState {
  explicit SharedState(int n) : ranks(n), sync(n), slots(std::size_t(n), nullptr), sizes(std::size_t(n), 0) {}
  int ranks;
  std::barrier<> sync;
  std::vector<const void*> slots;  // each rank's contribution for the current collective
  std::vector<std::size_t> sizes;
};

class InProcessCommunicator final : public Communicator {
 public:
  InProcessCommunicator(SharedState& s, int rank) : s_(s), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return s_.ranks; }

  void allreduce_sum(std::span<float> d) override { reduce(d, [](auto a, auto b) { return a + b; }); }
  void allreduce_sum(std::span<double> d) override { reduce(d, [](auto a, auto b) { return a + b; }); }
  void allreduce_sum(std::span<std::int64_t> d) override { reduce(d, [](auto a, auto b) { return a + b; }); }
  void allreduce_max(std::span<double> d) override { reduce(d, [](auto a, auto b) { return a > b ? a : b; }); }
  void allreduce_min(std::span<double> d) override { reduce(d, [](auto a, auto b) { return a < b ? a : b; }); }

  void allgather_bytes(const void* send, std::size_t bytes, void* recv) override {
    publish(send, bytes);
    for (int r = 0; r < s_.ranks; ++r) {
      SPECVAE_CHECK(s_.sizes[std::size_t(r)] == bytes, "allgather: ranks disagree on the size");
      if (bytes) std::memcpy(static_cast<char*>(recv) + std::size_t(r) * bytes, s_.slots[std::size_t(r)], bytes);
    }
    s_.sync.arrive_and_wait();
  }

  void allgatherv_bytes(const void* send, std::span<const std::size_t> counts, void* recv) override {
    SPECVAE_CHECK(counts.size() == std::size_t(s_.ranks), "allgatherv needs one count per rank");
    publish(send, counts[std::size_t(rank_)]);
    std::size_t offset = 0;
    for (int r = 0; r < s_.ranks; ++r) {
      std::size_t n = counts[std::size_t(r)];
      SPECVAE_CHECK(s_.sizes[std::size_t(r)] == n, "allgatherv: rank {} sent {} bytes, expected {}", r,
                    s_.sizes[std::size_t(r)], n);
      if (n) std::memcpy(static_cast<char*>(recv) + offset, s_.slots[std::size_t(r)], n);
      offset += n;
    }
    s_.sync.arrive_and_wait();
  }

  void reduce_scatter_sum(std::span<float> d, std::span<const std::size_t> counts) override {
    const auto [first, n] = my_chunk(d.size(), counts);
    publish(d.data(), d.size() * sizeof(float));
    std::vector<float> sum(n);
    for (std::size_t i = 0; i < n; ++i) {
      float acc = static_cast<const float*>(s_.slots[0])[first + i];
      for (int r = 1; r < s_.ranks; ++r) acc += static_cast<const float*>(s_.slots[std::size_t(r)])[first + i];
      sum[i] = acc;
    }
    s_.sync.arrive_and_wait();  // every rank has read its chunk of every buffer
    std::copy(sum.begin(), sum.end(), d.begin() + std::ptrdiff_t(first));
    s_.sync.arrive_and_wait();
  }

  void allgather_in_place(std::span<float> d, std::span<const std::size_t> counts) override {
    my_chunk(d.size(), counts);
    publish(d.data(), d.size() * sizeof(float));
    std::size_t first = 0;
    for (int r = 0; r < s_.ranks; ++r) {
      const std::size_t n = counts[std::size_t(r)];
      if (r != rank_ && n) std::memcpy(d.data() + first, static_cast<const float*>(s_.slots[std::size_t(r)]) + first, n * sizeof(float));
      first += n;
    }
    s_.sync.arrive_and_wait();
  }

  std::int64_t exclusive_scan_sum(std::int64_t value) override {
    publish(&value, sizeof value);
    std::int64_t sum = 0;
    for (int r = 0; r < rank_; ++r) sum += *static_cast<const std::int64_t*>(s_.slots[std::size_t(r)]);
    s_.sync.arrive_and_wait();
    return sum;
  }

  void broadcast_bytes(void* data, std::size_t bytes, int root) override {
    publish(data, bytes);
    if (rank_ != root && bytes) std::memcpy(data, s_.slots[std::size_t(root)], bytes);
    s_.sync.arrive_and_wait();
  }

  void barrier() override { s_.sync.arrive_and_wait(); }

  std::vector<char> alltoallv_bytes(const void* send, std::span<const std::size_t> counts) override {
    SPECVAE_CHECK(counts.size() == std::size_t(s_.ranks), "alltoallv needs one count per rank");
    struct Offer {
      const char* data;
      const std::size_t* counts;
    } mine{static_cast<const char*>(send), counts.data()};
    publish(&mine, sizeof mine);
    std::vector<char> out;
    for (int r = 0; r < s_.ranks; ++r) {
      const auto* o = static_cast<const Offer*>(s_.slots[std::size_t(r)]);
      std::size_t at = 0;
      for (int d = 0; d < rank_; ++d) at += o->counts[d];
      out.insert(out.end(), o->data + at, o->data + at + o->counts[rank_]);
    }
    s_.sync.arrive_and_wait();
    return out;
  }

 private:
  // (first float, length) of this rank's chunk; checks the counts cover the buffer.
  std::pair<std::size_t, std::size_t> my_chunk(std::size_t total, std::span<const std::size_t> counts) const {
    SPECVAE_CHECK(counts.size() == std::size_t(s_.ranks), "{} chunk counts for {} ranks", counts.size(), s_.ranks);
    std::size_t first = 0, sum = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      if (r == std::size_t(rank_)) first = sum;
      sum += counts[r];
    }
    SPECVAE_CHECK(sum == total, "chunks cover {} floats of a buffer of {}", sum, total);
    return {first, counts[std::size_t(rank_)]};
  }

  // Makes this rank's buffer visible; on return every rank's buffer is.
  void publish(const void* p, std::size_t bytes) {
    s_.slots[std::size_t(rank_)] = p;
    s_.sizes[std::size_t(rank_)] = bytes;
    s_.sync.arrive_and_wait();
  }

  template <typename T, typename Op>
  void reduce(std::span<T> d, Op op) {
    std::vector<T> mine(d.begin(), d.end());
    publish(mine.data(), mine.size() * sizeof(T));
    for (int r = 0; r < s_.ranks; ++r)
      SPECVAE_CHECK(s_.sizes[std::size_t(r)] == mine.size() * sizeof(T), "allreduce: ranks disagree on the length");
    for (std::size_t i = 0; i < d.size(); ++i) {
      T acc = static_cast<const T*>(s_.slots[0])[i];
      for (int r = 1; r < s_.ranks; ++r) acc = op(acc, static_cast<const T*>(s_.slots[std::size_t(r)])[i]);
      d[i] = acc;
    }
    s_.sync.arrive_and_wait();  // `mine` must outlive every reader
  }

  SharedState& s_;
  int rank_;
};

}  // namespace

void run_in_process(int ranks, const std::function<void(Communicator&)>& fn) {
  SPECVAE_CHECK(ranks >= 1, "run_in_process needs at least one rank");
  SharedState state(ranks);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      InProcessCommunicator comm(state, r);
      try {
        fn(comm);
      } catch (...) {
        // A rank that throws would leave the others waiting at the barrier: such tests must
        // throw on every rank (as a real job would abort every rank).
        errors[std::size_t(r)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace specvae
