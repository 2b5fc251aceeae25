// Per-op tolerances of the backend parity tests (every backend against the reference), in one
// place, each with its reason.
// "Exact" ops do the same float operations on both sides; the others differ only by the
// order of double sums, FMA contraction (nvcc contracts a·b + c, g++ on x86-64 does not) or
// the device's last-ulp differences in logf/sinf/cosf/exp.
#pragma once

#include <cmath>

namespace specvae::parity::tol {

inline constexpr double kUnitRoundoff = 1.0 / 16777216.0;  // 2^-24, float

// GEMM in fp32 against the double reference: the classic bound for any summation order,
// |ĉ − c| ≤ γ_k Σ|a||b| with γ_k ≈ k·u (doubled for the final rounding and alpha/beta).
inline double gemm_bound(int k) { return 2.0 * (k + 2) * kUnitRoundoff; }
// With TF32 inputs (10-bit mantissa): products carry ≈ 2^-11 relative error each.
inline double gemm_bound_tf32(int k) { return gemm_bound(k) + 2.0 * 4.8828125e-4; }

// Bias gradient: a double sum in another order, rounded to float: at most 1 ulp.
inline constexpr double kBiasGradRel = 2.0 * kUnitRoundoff;
// Box-Muller on the device (logf, sinf, cosf within 2 ulp): |Δ| ≤ 1e-5 on |z| ≲ 6.
inline constexpr double kNormalAbs = 1e-5;
// Per-spectrum losses and KL terms: double sums in another order (and FMA), then float.
inline constexpr double kLossRel = 2.0 * kUnitRoundoff;
inline constexpr double kLossAbs = 1e-6;
// The reconstruction gradient grad_scale·w·(x̂ − x) in float (the CPU backend rounds x̂ − x and
// then w·r; grad_scale is a power of two) against the double reference's one rounding.
inline constexpr double kLossGradRel = 3.0 * kUnitRoundoff;
// Adam and reparameterisation backward: double arithmetic with/without FMA, then float
// (1 ulp per step; the Adam test takes three steps, whose 1-ulp moment differences carry).
inline constexpr double kAdamRel = 8.0 * kUnitRoundoff;
inline constexpr double kAdamAbs = 1e-12;
// Adam in float (the CPU backend): the moment β₁·m + (1 − β₁)·g is a sum whose terms can cancel,
// so its rounding is bounded by the terms' size, not the result's: Adam's outputs are compared
// within kAdamRel of the largest |value| of each array (norm-wise), over the three steps.
// Σx² in double over ≤ 1e6 floats in another order: relative 1e-12 is ~1e4 double ulps.
inline constexpr double kSumSquaresRel = 1e-12;

// A whole training step on the paper-like MLP: gradients through ~12 GEMMs. Relative norm
// of the gradient difference, IEEE fp32 and TF32.
// TF32 rounds each GEMM input to 10 mantissa bits (≈ 5e-4 per product), compounded over the
// 6 forward and 12 backward GEMMs: PyTorch's own TF32 tests allow 1e-2 … 5e-2. A layout or
// indexing bug still shows as an O(1) difference.
inline constexpr double kStepGradNormRel = 1e-4;  // ≈ 10 GEMMs × √K·u (K ≤ 1000), with margin
inline constexpr double kStepGradNormRelTf32 = 3e-2;
inline constexpr double kStepLossRel = 1e-5;
inline constexpr double kStepLossRelTf32 = 1e-2;
// Per layer (a small layer's gradient has fewer terms to average its rounding over).
inline constexpr double kLayerGradNormRel = 1e-3;
inline constexpr double kLayerGradNormRelTf32 = 0.1;

// kNN: two candidates count as tied when their squared distances differ by less than this
// times ‖q‖² + ‖b‖² (centred): the expanded form's float rounding, ≈ (dim + 3)·u for dim 10.
inline constexpr double kKnnTieRel = 2e-6;
// LOF against the CPU LOF (the acceptance bound).
inline constexpr double kNofAbs = 1e-3;

}  // namespace specvae::parity::tol
