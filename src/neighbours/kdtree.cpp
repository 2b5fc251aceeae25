// k-d tree construction (median split on the widest bounding-box side) and the exact
// depth-first query with bounding-box pruning. Queries are processed in tree order so that
// consecutive queries share hot nodes and leaves.
#include "specvae/neighbours/kdtree.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include <omp.h>

#include "specvae/core/error.hpp"

namespace specvae::neighbours {

KdTree::KdTree(std::span<const float> points, std::int64_t n, int d, int leaf_size)
    : n_(n), d_(d), leaf_size_(leaf_size) {
  SPECVAE_CHECK(static_cast<std::int64_t>(points.size()) == n * d && leaf_size >= 1, "k-d tree input");
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), std::int64_t{0});
  nodes_.reserve(static_cast<std::size_t>(2 * (n / leaf_size + 1)));
  if (n > 0) build(0, n, points);
  pts_.resize(static_cast<std::size_t>(n) * d);
  position_.resize(n);
  stride_ = (n + kDistanceLanes - 1) / kDistanceLanes * kDistanceLanes + kDistanceLanes;
  cols_.assign(static_cast<std::size_t>(stride_) * d, 0.0f);
  for (std::int64_t p = 0; p < n; ++p) {
    std::copy_n(&points[order_[p] * d], d, &pts_[p * d]);
    for (int j = 0; j < d; ++j) cols_[static_cast<std::size_t>(j) * stride_ + p] = points[order_[p] * d + j];
    position_[order_[p]] = p;
  }
}

// GCC vector extension: one 16-float vector, lowered to one zmm, two ymm or four xmm
// registers by each clone. Written explicitly because auto-vectorisation chose the short
// coordinate loop (d = 10) instead of the point loop.
typedef float Lanes __attribute__((vector_size(kDistanceLanes * sizeof(float))));

__attribute__((target_clones("avx512f", "avx2", "default")))
void squared_distances(const float* cols, std::int64_t stride, int d, std::int64_t begin, std::int64_t end,
                       const float* x, float* out) {
  for (std::int64_t p0 = begin; p0 < end; p0 += kDistanceLanes) {
    Lanes acc = {};
    for (int j = 0; j < d; ++j) {
      Lanes c;
      std::memcpy(&c, cols + j * stride + p0, sizeof c);
      const Lanes diff = c - x[j];
      acc += diff * diff;
    }
    std::memcpy(out + (p0 - begin), &acc, sizeof acc);
  }
}

int KdTree::build(std::int64_t begin, std::int64_t end, std::span<const float> points) {
  const int id = static_cast<int>(nodes_.size());
  nodes_.push_back(Node{begin, end});
  lo_.resize(lo_.size() + d_, std::numeric_limits<float>::infinity());
  hi_.resize(hi_.size() + d_, -std::numeric_limits<float>::infinity());
  float* lo = &lo_[static_cast<std::size_t>(id) * d_];
  float* hi = &hi_[static_cast<std::size_t>(id) * d_];
  for (std::int64_t p = begin; p < end; ++p) {
    const float* x = &points[order_[p] * d_];
    for (int j = 0; j < d_; ++j) {
      lo[j] = std::min(lo[j], x[j]);
      hi[j] = std::max(hi[j], x[j]);
    }
  }
  if (end - begin <= leaf_size_) return id;
  int dim = 0;
  for (int j = 1; j < d_; ++j)
    if (hi[j] - lo[j] > hi[dim] - lo[dim]) dim = j;
  if (!(hi[dim] > lo[dim])) return id;  // all points identical: nothing to split
  const std::int64_t mid = begin + (end - begin) / 2;
  std::nth_element(order_.begin() + begin, order_.begin() + mid, order_.begin() + end,
                   [&](std::int64_t a, std::int64_t b) { return points[a * d_ + dim] < points[b * d_ + dim]; });
  const int left = build(begin, mid, points);
  const int right = build(mid, end, points);
  nodes_[id].left = left;
  nodes_[id].right = right;
  return id;
}

float KdTree::box_distance(int node, const float* x) const {
  const float* lo = &lo_[static_cast<std::size_t>(node) * d_];
  const float* hi = &hi_[static_cast<std::size_t>(node) * d_];
  float s = 0;
  for (int j = 0; j < d_; ++j) {
    const float below = lo[j] - x[j], above = x[j] - hi[j];
    const float gap = below > 0 ? below : (above > 0 ? above : 0.0f);
    s += gap * gap;
  }
  return s;
}

void KdTree::query(const float* x, int cap, std::int64_t* ids, float* d2) const {
  TopList top(cap, ids, d2);
  if (n_ == 0) return;
  // The bound is relaxed by 1e-5 relative before pruning: the float box distance and the
  // float point distance are rounded differently, and a point at exactly the worst
  // distance with a smaller index must still be found (ties are broken by index).
  constexpr float kSlack = 1.0f + 1e-5f;
  constexpr std::int64_t kLeafChunk = 256;  // leaves larger than leaf_size (all-equal points) go in chunks
  alignas(64) float dist[kLeafChunk + kDistanceLanes];
  struct Entry {
    float bound;
    int node;
  };
  Entry stack[256];
  int sp = 0;
  stack[sp++] = {box_distance(0, x), 0};
  while (sp > 0) {
    const Entry e = stack[--sp];
    if (top.full() && e.bound > top.worst() * kSlack) continue;
    const Node& nd = nodes_[e.node];
    if (nd.left < 0) {
      for (std::int64_t b = nd.begin; b < nd.end; b += kLeafChunk) {
        const std::int64_t e = std::min(nd.end, b + kLeafChunk);
        squared_distances(cols_.data(), stride_, d_, b, e, x, dist);
        for (std::int64_t p = b; p < e; ++p) {
          const float s = dist[p - b];
          if (s <= top.worst() && top.accepts(s, order_[p])) top.insert(s, order_[p]);
        }
      }
      continue;
    }
    const float bl = box_distance(nd.left, x), br = box_distance(nd.right, x);
    SPECVAE_CHECK(sp + 2 <= 256, "k-d tree deeper than its query stack");
    if (bl <= br) {
      stack[sp++] = {br, nd.right};
      stack[sp++] = {bl, nd.left};
    } else {
      stack[sp++] = {bl, nd.left};
      stack[sp++] = {br, nd.right};
    }
  }
}

void KdTree::query_rows(std::int64_t q_begin, std::int64_t nq, int cap, std::int64_t* ids, float* d2,
                        int threads) const {
  std::vector<std::int64_t> queries(nq);
  std::iota(queries.begin(), queries.end(), q_begin);
  std::sort(queries.begin(), queries.end(),
            [&](std::int64_t a, std::int64_t b) { return position_[a] < position_[b]; });
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads > 0 ? threads : omp_get_max_threads())
  for (std::int64_t i = 0; i < nq; ++i) {
    const std::int64_t q = queries[i] - q_begin;
    query(&pts_[position_[queries[i]] * d_], cap, ids + q * cap, d2 + q * cap);
  }
}

}  // namespace specvae::neighbours
