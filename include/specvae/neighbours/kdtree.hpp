// A k-d tree for exact nearest-neighbour queries on low-dimensional float points (the
// latent means; learn's labelled points). Points are copied into tree order so that a leaf
// is contiguous in memory.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "specvae/neighbours/topk.hpp"

namespace specvae::neighbours {

// Squared distances from x[d] to points [begin, end) of a column-major block (coordinate j of
// point p at cols[j·stride + p]), into out[0 .. end−begin). Reads up to 15 points past `end`
// (the caller pads the columns), so every lane runs full width. Compiled for AVX-512, AVX2
// and baseline x86-64, chosen at run time (GCC target_clones).
void squared_distances(const float* cols, std::int64_t stride, int d, std::int64_t begin, std::int64_t end,
                       const float* x, float* out);
inline constexpr int kDistanceLanes = 16;

class KdTree {
 public:
  // points: n × d row-major. Leaves hold at most leaf_size points: 64 keeps the tree shallow
  // while a leaf is still only four 16-lane passes (measured faster than 16 or 32 on 10-d
  // latent means, where pruning is weak and the leaf scan dominates).
  KdTree(std::span<const float> points, std::int64_t n, int d, int leaf_size = 64);

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
  std::vector<float> pts_;             // points in tree order, row-major
  std::int64_t stride_ = 0;            // n rounded up + one lane block of padding
  std::vector<float> cols_;            // points in tree order, column-major [d × stride_]
};

}  // namespace specvae::neighbours
