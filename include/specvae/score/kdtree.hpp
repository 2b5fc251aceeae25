// A k-d tree for exact nearest-neighbour queries on low-dimensional float points (the
// latent means), and the small sorted "top list" both it and the brute force fill. Points
// are copied into tree order so that a leaf is contiguous in memory.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace specvae::score {

// The best `cap` (distance², index) pairs seen so far, sorted by (distance², index) —
// index order breaks ties so that every method picks the same neighbours among duplicates.
class TopList {
 public:
  TopList(int cap, std::int64_t* ids, float* d2) : cap_(cap), ids_(ids), d2_(d2) {}
  int size() const { return size_; }
  bool full() const { return size_ == cap_; }
  // Squared distance of the current worst entry (+inf until full).
  float worst() const;
  bool accepts(float d2, std::int64_t id) const {
    if (size_ < cap_) return true;
    return d2 < d2_[cap_ - 1] || (d2 == d2_[cap_ - 1] && id < ids_[cap_ - 1]);
  }
  void insert(float d2, std::int64_t id);

 private:
  int cap_;
  int size_ = 0;
  std::int64_t* ids_;
  float* d2_;
};

class KdTree {
 public:
  // points: n × d row-major. Leaves hold at most leaf_size points.
  KdTree(std::span<const float> points, std::int64_t n, int d, int leaf_size = 16);

  // The `cap` nearest points (by float distance², ties by index) to each of the point set's
  // own rows [q_begin, q_begin+nq), the row itself included. ids/d2: [nq × cap].
  void query_rows(std::int64_t q_begin, std::int64_t nq, int cap, std::int64_t* ids, float* d2, int threads) const;
  // The `cap` nearest points to an arbitrary point x[d].
  void query(const float* x, int cap, std::int64_t* ids, float* d2) const;

  std::int64_t size() const { return n_; }
  int nodes() const { return static_cast<int>(nodes_.size()); }

 private:
  struct Node {
    std::int64_t begin, end;  // points [begin, end) in tree order
    int left = -1, right = -1;  // children (-1: leaf)
  };
  int build(std::int64_t begin, std::int64_t end, std::span<const float> points);
  float box_distance(int node, const float* x) const;

  std::int64_t n_;
  int d_;
  int leaf_size_;
  std::vector<Node> nodes_;
  std::vector<float> lo_, hi_;         // bounding box per node, [nodes × d]
  std::vector<std::int64_t> order_;    // tree position → original index
  std::vector<std::int64_t> position_; // original index → tree position
  std::vector<float> pts_;             // points in tree order
};

}  // namespace specvae::score
