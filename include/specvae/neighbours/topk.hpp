// The one sorted "top list" insert every exact kNN search uses: the k-d tree and the CPU brute
// force (TopList), and the GPU selection and refine kernels (kernels/knn_ops.cu,
// kernels/knn_fused.cu), which include this header from device code. Entries are ordered by
// (distance, index): among equal distances the smaller index wins, so every method picks the
// same neighbours among duplicates (the documented tie policy). A NaN distance is never less
// than anything, so it is never kept.
#pragma once

#include <cstdint>
#include <limits>

#if defined(__CUDACC__)
#define SPECVAE_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define SPECVAE_HOST_DEVICE inline
#endif

namespace specvae::neighbours {

// (da, ia) before (db, ib).
template <typename D, typename I>
SPECVAE_HOST_DEVICE bool key_less(D da, I ia, D db, I ib) {
  return da < db || (da == db && ia < ib);
}

// Inserts (d, id) into the sorted list dist/ids of `size` entries and capacity `cap`: when the
// list is full its worst entry drops off (the caller has checked the pair beats it). Returns
// the new size.
template <typename D, typename I>
SPECVAE_HOST_DEVICE int topk_insert(D* dist, I* ids, int size, int cap, D d, I id) {
  int pos = size < cap ? size++ : cap - 1;
  while (pos > 0 && key_less(d, id, dist[pos - 1], ids[pos - 1])) {
    dist[pos] = dist[pos - 1];
    ids[pos] = ids[pos - 1];
    --pos;
  }
  dist[pos] = d;
  ids[pos] = id;
  return size;
}

#if !defined(__CUDACC__)
// The best `cap` (distance², index) pairs seen so far, in caller-owned arrays.
class TopList {
 public:
  TopList(int cap, std::int64_t* ids, float* d2) : cap_(cap), ids_(ids), d2_(d2) {}
  int size() const { return size_; }
  bool full() const { return size_ == cap_; }
  // Squared distance of the current worst entry (+inf until full).
  float worst() const { return size_ < cap_ ? std::numeric_limits<float>::infinity() : d2_[cap_ - 1]; }
  bool accepts(float d2, std::int64_t id) const {
    return size_ < cap_ || key_less(d2, id, d2_[cap_ - 1], ids_[cap_ - 1]);
  }
  void insert(float d2, std::int64_t id) { size_ = topk_insert(d2_, ids_, size_, cap_, d2, id); }

 private:
  int cap_;
  int size_ = 0;
  std::int64_t* ids_;
  float* d2_;
};
#endif

}  // namespace specvae::neighbours
