// The register-tiled exact brute-force kNN candidate search (AVX-512 when the CPU has it,
// a portable vectorised path otherwise). Used by knn_excluding_self for KnnMethod::BruteForce.
#pragma once

#include <cstdint>
#include <span>

namespace specvae::score {

// The `cap` nearest points (by a float key ordered like distance², ties by index) to each of rows
// [q_begin, q_begin+nq) of points (n × d row-major), the row itself included.
void bruteforce_candidates_tiled(std::span<const float> points, std::int64_t n, int d, std::int64_t q_begin,
                                 std::int64_t nq, int cap, std::int64_t* ids, float* d2, int threads);
// Candidates beyond k+1 the caller must fetch (and re-rank exactly): the AVX-512 kernel
// ranks by the expanded key ‖y‖² − 2x·y, which can swap near-ties; the portable one is exact.
int bruteforce_extra_candidates(int d);
// Whether the AVX-512 kernel runs for dimension d on this CPU.
bool bruteforce_uses_avx512(int d);

}  // namespace specvae::score
