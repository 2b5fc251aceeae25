// Iterative PCA infill of masked bins (Yip et al. 2004; astroML iterative_pca, REFERENCE.md
// §3.2): eigenspectra are fitted once on a sample, then every spectrum's masked bins are
// replaced by its weighted-least-squares projection (0/1 weights: unmasked bins only).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace specvae::ingest {

// Mean spectrum and the leading eigenspectra of L2-normalised spectra.
struct PcaModel {
  int n_bins = 0;
  int n_ev = 0;                             // may be fewer than asked for (small samples)
  std::vector<double> mean;                 // [n_bins]
  std::vector<double> evecs;                // [n_ev * n_bins], row k = eigenspectrum k (unit norm)
  std::vector<double> eigenvalues;          // [n_ev], covariance eigenvalues, descending
  std::vector<std::uint8_t> never_observed; // [n_bins], 1 where every sample spectrum is masked
  int iterations = 0;                       // iterations run (fewer than asked when converged)
};

// astroML iterative_pca(X, M, n_ev, n_iter, norm='L2') on `rows` spectra of n_bins (row-major
// flux, mask 1 = masked): fill masked bins with the column means (alternating with L2
// normalisation), then n_iter times: normalise, take the mean and the top n_ev eigenvectors of
// the covariance, project each spectrum on its unmasked bins and overwrite its masked bins.
// Stops early when no filled value moves by more than 1e-7 (in units of the unit-norm
// spectrum), which changes nothing at float precision. Bins masked in every spectrum get mean
// 0 and eigenvector components 0 (astroML refuses such data; here they stay masked).
// Deterministic for given inputs (no threads in the reductions that differ between runs).
PcaModel fit_iterative_pca(std::span<const float> flux, std::span<const std::uint8_t> mask, std::int64_t rows,
                           int n_bins, int n_ev, int n_iter);

// Fills the masked bins of single spectra with a model; keeps its scratch between calls.
class PcaInfiller {
 public:
  PcaInfiller(const PcaModel& model, int n_iter);
  // In place: masked bins of `flux` get the projection; unmasked bins are not touched.
  // The spectrum's scale is unknown, so as in astroML the fill alternates with L2
  // normalisation (at most n_iter times, stopping once converged). Returns false (flux
  // unchanged) when the spectrum has no unmasked bin.
  bool infill(std::span<float> flux, std::span<const std::uint8_t> mask);

 private:
  const PcaModel& model_;
  int n_iter_;
  std::vector<double> x_, a_, b_, gram_;
  std::vector<std::int32_t> masked_;
};

// Solves the projection of one normalised spectrum y (double, n_bins) on the model using its
// unmasked bins: (V W Vᵀ) a = V W (y − μ). `masked` lists the masked bins. Exposed for tests.
void project_unmasked(const PcaModel& model, std::span<const double> y, std::span<const std::int32_t> masked,
                      std::span<double> coeffs, std::vector<double>& gram, std::vector<double>& rhs);

}  // namespace specvae::ingest
