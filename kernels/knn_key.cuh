// The order of kNN candidates, shared by the selection kernels: by distance, then by index,
// so ties always go to the smaller index (the documented tie policy).
#pragma once

namespace specvae::kernels {

__device__ __forceinline__ bool knn_key_less(float da, int ia, float db, int ib) {
  return da < db || (da == db && ia < ib);
}

}  // namespace specvae::kernels
