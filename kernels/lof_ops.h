// Launchers of the Local Outlier Factor steps on neighbour lists (kernels/lof_ops.cu), with
// scikit-learn's semantics (REFERENCE.md §2): reach-dist(p, o) = max(d(p, o), k-distance(o)),
// lrd(p) = 1 / (mean reach-dist + 1e-10), NOF(p) = −mean_o lrd(o) / lrd(p). Double precision.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace specvae::kernels {

// kdist[i] = distance[i·k + k − 1] (rows sorted ascending).
void launch_k_distance(const double* distance, std::int64_t n, int k, double* kdist, cudaStream_t stream);

// lrd[i] over this block of rows; index holds global rows into kdist_all.
void launch_lrd(const std::int64_t* index, const double* distance, std::int64_t n, int k, const double* kdist_all,
                double* lrd, cudaStream_t stream);

// nof[i] = −mean_c lrd_all[index[i·k + c]] / lrd_own[i].
void launch_nof(const std::int64_t* index, std::int64_t n, int k, const double* lrd_all, const double* lrd_own,
                double* nof, cudaStream_t stream);

}  // namespace specvae::kernels
