// Iterative PCA (astroML iterative_pca with norm='L2', 0/1 weights) and the per-spectrum
// projection that fills masked bins. Spectra without masked bins do not change between
// iterations, so their part of the covariance is computed once (dsyrk) and only the rows
// with masked bins are re-accumulated: same result, a fraction of the work.
#include "specvae/ingest/pca_infill.hpp"

#include <algorithm>
#include <cmath>

#include <cblas.h>

#include "specvae/core/error.hpp"
#include "specvae/core/log.hpp"

extern "C" {
// LAPACK (in Debian's OpenBLAS; no lapacke.h is installed). Character arguments carry a
// hidden length at the end (gfortran ABI).
void dsyevr_(const char* jobz, const char* range, const char* uplo, const int* n, double* a, const int* lda,
             const double* vl, const double* vu, const int* il, const int* iu, const double* abstol, int* m,
             double* w, double* z, const int* ldz, int* isuppz, double* work, const int* lwork, int* iwork,
             const int* liwork, int* info, std::size_t, std::size_t, std::size_t);
}

namespace specvae::ingest {

namespace {

// Filled values that move less than this (unit-norm spectra) have converged at float precision.
constexpr double kConverged = 1e-7;

// Solves the small SPD system g a = r (K×K, row-major) by Cholesky; adds a tiny ridge when the
// unmasked bins do not pin down every coefficient (e.g. a spectrum with very few of them).
void solve_spd(std::vector<double>& g, std::vector<double>& r, int K) {
  std::vector<double> l;
  for (double ridge : {0.0, 1e-8, 1e-6, 1e-4}) {
    l = g;
    for (int i = 0; i < K; ++i) l[i * K + i] += ridge;
    bool ok = true;
    for (int j = 0; j < K && ok; ++j) {
      double d = l[j * K + j];
      for (int k = 0; k < j; ++k) d -= l[j * K + k] * l[j * K + k];
      if (!(d > 1e-12)) { ok = false; break; }
      d = std::sqrt(d);
      l[j * K + j] = d;
      for (int i = j + 1; i < K; ++i) {
        double s = l[i * K + j];
        for (int k = 0; k < j; ++k) s -= l[i * K + k] * l[j * K + k];
        l[i * K + j] = s / d;
      }
    }
    if (!ok) continue;
    for (int i = 0; i < K; ++i) {  // L y = r
      double s = r[i];
      for (int k = 0; k < i; ++k) s -= l[i * K + k] * r[k];
      r[i] = s / l[i * K + i];
    }
    for (int i = K - 1; i >= 0; --i) {  // Lᵀ a = y
      double s = r[i];
      for (int k = i + 1; k < K; ++k) s -= l[k * K + i] * r[k];
      r[i] = s / l[i * K + i];
    }
    return;
  }
  std::fill(r.begin(), r.end(), 0.0);  // nothing usable: the fill is the mean spectrum
}

double l2norm(std::span<const double> x) {
  double s = 0;
  for (double v : x) s += v * v;
  return std::sqrt(s);
}

// Top-K eigenpairs of the symmetric B×B matrix c (row-major, upper triangle valid), descending.
void top_eigenpairs(std::vector<double>& c, int B, int K, std::vector<double>& evecs, std::vector<double>& evals) {
  evecs.assign(static_cast<std::size_t>(K) * B, 0.0);
  evals.assign(static_cast<std::size_t>(K), 0.0);
  if (K == 0) return;
  // Row-major upper = column-major lower.
  const char jobz = 'V', range = 'I', uplo = 'L';
  const int n = B, lda = B, il = B - K + 1, iu = B, ldz = B;
  const double vl = 0, vu = 0, abstol = 0;  // 0: LAPACK's default tolerance
  int m = 0, info = 0, lwork = -1, liwork = -1, iwork_q = 0;
  double work_q = 0;
  std::vector<double> w(static_cast<std::size_t>(B)), z(static_cast<std::size_t>(B) * K);
  std::vector<int> isuppz(2 * static_cast<std::size_t>(K));
  dsyevr_(&jobz, &range, &uplo, &n, c.data(), &lda, &vl, &vu, &il, &iu, &abstol, &m, w.data(), z.data(), &ldz,
          isuppz.data(), &work_q, &lwork, &iwork_q, &liwork, &info, 1, 1, 1);
  SPECVAE_CHECK(info == 0, "dsyevr workspace query failed: info {}", info);
  lwork = static_cast<int>(work_q);
  liwork = iwork_q;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  dsyevr_(&jobz, &range, &uplo, &n, c.data(), &lda, &vl, &vu, &il, &iu, &abstol, &m, w.data(), z.data(), &ldz,
          isuppz.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1, 1);
  SPECVAE_CHECK(info == 0 && m == K, "dsyevr failed: info {}, {} of {} eigenpairs", info, m, K);
  for (int k = 0; k < K; ++k) {
    const int src = K - 1 - k;  // LAPACK returns ascending eigenvalues
    evals[k] = w[src];
    const double* v = z.data() + static_cast<std::size_t>(src) * B;
    // Sign convention: the largest component is positive, so the model is reproducible.
    int imax = 0;
    for (int b = 1; b < B; ++b)
      if (std::abs(v[b]) > std::abs(v[imax])) imax = b;
    const double sign = v[imax] < 0 ? -1.0 : 1.0;
    for (int b = 0; b < B; ++b) evecs[static_cast<std::size_t>(k) * B + b] = sign * v[b];
  }
}

// Top-K eigenpairs of the covariance of the rows of [xf; xv] (row-major, B columns) through
// the Gram matrix of the centred rows: G u = λ u gives v = Xcᵀ u / ‖Xcᵀ u‖ with the same λ.
void eigen_from_gram(const std::vector<double>& xf, const std::vector<double>& xv, const std::vector<double>& mean,
                     int B, int K, std::vector<double>& evecs, std::vector<double>& evals) {
  const std::size_t Bz = static_cast<std::size_t>(B), n = (xf.size() + xv.size()) / Bz;
  std::vector<double> xc(n * Bz);
  std::copy(xf.begin(), xf.end(), xc.begin());
  std::copy(xv.begin(), xv.end(), xc.begin() + static_cast<std::ptrdiff_t>(xf.size()));
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t b = 0; b < Bz; ++b) xc[r * Bz + b] -= mean[b];
  const int N = static_cast<int>(n);
  std::vector<double> g(n * n, 0.0), u;
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, N, B, 1.0, xc.data(), B, 0.0, g.data(), N);
  top_eigenpairs(g, N, K, u, evals);
  evecs.assign(static_cast<std::size_t>(K) * Bz, 0.0);
  for (int k = 0; k < K; ++k) {
    double* v = evecs.data() + static_cast<std::size_t>(k) * Bz;
    cblas_dgemv(CblasRowMajor, CblasTrans, N, B, 1.0, xc.data(), B, u.data() + static_cast<std::size_t>(k) * n, 1, 0.0,
                v, 1);
    const double norm = cblas_dnrm2(B, v, 1);
    if (!(norm > 0)) continue;  // a zero-variance direction: leave it out of the fill
    int imax = 0;
    for (int b = 1; b < B; ++b)
      if (std::abs(v[b]) > std::abs(v[imax])) imax = b;
    const double scale = (v[imax] < 0 ? -1.0 : 1.0) / norm;
    for (int b = 0; b < B; ++b) v[b] *= scale;
  }
}

}  // namespace

void project_unmasked(const PcaModel& model, std::span<const double> y, std::span<const std::int32_t> masked,
                      std::span<double> coeffs, std::vector<double>& gram, std::vector<double>& rhs) {
  const int K = model.n_ev, B = model.n_bins;
  SPECVAE_CHECK(static_cast<int>(y.size()) == B && static_cast<int>(coeffs.size()) == K, "project: sizes");
  if (K == 0) return;
  const double* V = model.evecs.data();
  gram.assign(static_cast<std::size_t>(K) * K, 0.0);
  rhs.assign(static_cast<std::size_t>(K), 0.0);
  // V W Vᵀ = I − Σ_masked v vᵀ for orthonormal eigenspectra; with most bins masked the direct
  // sum over unmasked bins is the more accurate of the two.
  std::vector<std::uint8_t> is_masked;
  const bool few_masked = 2 * masked.size() < static_cast<std::size_t>(B);
  for (int b = 0; b < B; ++b) {
    const double d = y[b] - model.mean[b];
    for (int k = 0; k < K; ++k) rhs[k] += V[static_cast<std::size_t>(k) * B + b] * d;
  }
  for (auto b : masked) {
    const double d = y[b] - model.mean[b];
    for (int k = 0; k < K; ++k) rhs[k] -= V[static_cast<std::size_t>(k) * B + b] * d;
  }
  if (few_masked) {
    for (int k = 0; k < K; ++k) gram[k * K + k] = 1.0;
    for (auto b : masked)
      for (int i = 0; i < K; ++i)
        for (int j = 0; j <= i; ++j) gram[i * K + j] -= V[static_cast<std::size_t>(i) * B + b] * V[static_cast<std::size_t>(j) * B + b];
  } else {
    is_masked.assign(static_cast<std::size_t>(B), 0);
    for (auto b : masked) is_masked[b] = 1;
    for (int b = 0; b < B; ++b) {
      if (is_masked[b]) continue;
      for (int i = 0; i < K; ++i)
        for (int j = 0; j <= i; ++j) gram[i * K + j] += V[static_cast<std::size_t>(i) * B + b] * V[static_cast<std::size_t>(j) * B + b];
    }
  }
  for (int i = 0; i < K; ++i)
    for (int j = 0; j < i; ++j) gram[j * K + i] = gram[i * K + j];
  solve_spd(gram, rhs, K);
  std::copy(rhs.begin(), rhs.end(), coeffs.begin());
}

namespace {
// Overwrites y's masked bins with μ + Σ a_k v_k; returns the largest change.
double fill_masked(const PcaModel& model, std::span<double> y, std::span<const std::int32_t> masked,
                   std::span<const double> a) {
  const int K = model.n_ev, B = model.n_bins;
  double change = 0;
  for (auto b : masked) {
    double v = model.mean[b];
    for (int k = 0; k < K; ++k) v += a[k] * model.evecs[static_cast<std::size_t>(k) * B + b];
    change = std::max(change, std::abs(v - y[b]));
    y[b] = v;
  }
  return change;
}
}  // namespace

PcaModel fit_iterative_pca(std::span<const float> flux, std::span<const std::uint8_t> mask, std::int64_t rows,
                           int n_bins, int n_ev, int n_iter) {
  const int B = n_bins;
  const std::size_t Bz = static_cast<std::size_t>(B);
  SPECVAE_CHECK(rows >= 1 && B >= 1 && flux.size() == static_cast<std::size_t>(rows) * Bz && mask.size() == flux.size(),
                "fit_iterative_pca: {} rows of {} bins, {} values", rows, B, flux.size());
  PcaModel model;
  model.n_bins = B;
  model.n_ev = static_cast<int>(std::min<std::int64_t>({n_ev, rows - 1, B}));
  const int K = model.n_ev;

  // Bins nobody observed stay at 0 and out of every fill.
  model.never_observed.assign(Bz, 1);
  for (std::int64_t r = 0; r < rows; ++r)
    for (int b = 0; b < B; ++b)
      if (!mask[r * Bz + b]) model.never_observed[b] = 0;
  const auto n_never = std::count(model.never_observed.begin(), model.never_observed.end(), 1);
  if (n_never > 0) log::warn("PCA sample: {} of {} bins are masked in every sample spectrum; they stay masked", n_never, B);

  // Rows with masked bins ("varying") change every iteration; the others ("fixed") do not.
  std::vector<std::int64_t> fixed_rows, varying_rows;
  std::vector<std::vector<std::int32_t>> masked_of;  // per varying row
  for (std::int64_t r = 0; r < rows; ++r) {
    std::vector<std::int32_t> m;
    for (int b = 0; b < B; ++b)
      if (mask[r * Bz + b] && !model.never_observed[b]) m.push_back(b);
    if (m.empty()) {
      fixed_rows.push_back(r);
    } else {
      varying_rows.push_back(r);
      masked_of.push_back(std::move(m));
    }
  }
  const std::size_t nv = varying_rows.size(), nf = fixed_rows.size();
  auto normalise = [](std::span<double> x) {
    const double n = l2norm(x);
    if (n > 0)
      for (double& v : x) v /= n;
  };

  // Fixed rows: normalise once, accumulate their sum and Σ x xᵀ once.
  // With fewer spectra than bins the eigenvectors come from the rows×rows Gram matrix
  // instead of the bins×bins covariance (same vectors, far less work for small samples); the
  // fixed rows are then kept.
  const bool gram_space = rows < B;
  std::vector<double> sum_fixed(Bz, 0.0), c_fixed(gram_space ? 0 : Bz * Bz, 0.0), xf;
  {
    xf.assign(nf * Bz, 0.0);
    for (std::size_t i = 0; i < nf; ++i) {
      std::span<double> x(xf.data() + i * Bz, Bz);
      for (int b = 0; b < B; ++b) x[b] = model.never_observed[b] ? 0.0 : flux[fixed_rows[i] * Bz + b];
      normalise(x);
      for (int b = 0; b < B; ++b) sum_fixed[b] += x[b];
    }
    if (nf > 0 && !gram_space)
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, B, static_cast<int>(nf), 1.0, xf.data(), B, 0.0,
                  c_fixed.data(), B);
    if (!gram_space) std::vector<double>().swap(xf);
  }

  // Varying rows: initial fill with column means of the unmasked values (over all rows),
  // alternating with normalisation as astroML does with norm='L2'.
  std::vector<double> xv(nv * Bz);
  for (std::size_t i = 0; i < nv; ++i)
    for (int b = 0; b < B; ++b) xv[i * Bz + b] = model.never_observed[b] ? 0.0 : flux[varying_rows[i] * Bz + b];
  std::vector<double> colsum(Bz), colcnt(Bz);
  auto refill_with_means = [&](bool normalise_first) {
    std::fill(colsum.begin(), colsum.end(), 0.0);
    std::fill(colcnt.begin(), colcnt.end(), 0.0);
    for (int b = 0; b < B; ++b) colsum[b] = sum_fixed[b], colcnt[b] = static_cast<double>(nf);
    std::vector<std::uint8_t> m(Bz);
    for (std::size_t i = 0; i < nv; ++i) {
      std::span<double> x(xv.data() + i * Bz, Bz);
      if (normalise_first) normalise(x);
      std::fill(m.begin(), m.end(), 0);
      for (auto b : masked_of[i]) m[b] = 1;
      for (int b = 0; b < B; ++b)
        if (!m[b]) colsum[b] += x[b], colcnt[b] += 1;
    }
    for (std::size_t i = 0; i < nv; ++i)
      for (auto b : masked_of[i]) xv[i * Bz + b] = colcnt[b] > 0 ? colsum[b] / colcnt[b] : 0.0;
  };
  if (nv > 0) {
    // astroML zeroes the masked values, fills with means and alternates with normalisation;
    // here the fixed rows are already unit-norm, so every pass normalises first.
    for (std::size_t i = 0; i < nv; ++i)
      for (auto b : masked_of[i]) xv[i * Bz + b] = 0.0;
    for (int it = 0; it < std::max(1, n_iter); ++it) refill_with_means(true);
  }

  std::vector<double> cov(gram_space ? 0 : Bz * Bz), coeffs(static_cast<std::size_t>(K)), gram, rhs;
  model.mean.assign(Bz, 0.0);
  for (int it = 0; it < std::max(1, n_iter); ++it) {
    for (std::size_t i = 0; i < nv; ++i) normalise(std::span<double>(xv.data() + i * Bz, Bz));
    // Mean and covariance: fixed part + varying rows − S μ μᵀ.
    for (int b = 0; b < B; ++b) model.mean[b] = sum_fixed[b];
    for (std::size_t i = 0; i < nv; ++i)
      for (int b = 0; b < B; ++b) model.mean[b] += xv[i * Bz + b];
    for (double& m : model.mean) m /= static_cast<double>(rows);
    if (gram_space) {
      eigen_from_gram(xf, xv, model.mean, B, K, model.evecs, model.eigenvalues);
    } else {
      cov = c_fixed;
      if (nv > 0)
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, B, static_cast<int>(nv), 1.0, xv.data(), B, 1.0,
                    cov.data(), B);
      cblas_dsyr(CblasRowMajor, CblasUpper, B, -static_cast<double>(rows), model.mean.data(), 1, cov.data(), B);
      top_eigenpairs(cov, B, K, model.evecs, model.eigenvalues);
    }
    model.iterations = it + 1;

    double change = 0;
    for (std::size_t i = 0; i < nv; ++i) {
      std::span<double> y(xv.data() + i * Bz, Bz);
      if (K > 0) project_unmasked(model, y, masked_of[i], coeffs, gram, rhs);
      change = std::max(change, fill_masked(model, y, masked_of[i], coeffs));
    }
    if (change < kConverged) break;
  }
  return model;
}

PcaInfiller::PcaInfiller(const PcaModel& model, int n_iter) : model_(model), n_iter_(std::max(1, n_iter)) {
  x_.resize(static_cast<std::size_t>(model.n_bins));
  a_.resize(static_cast<std::size_t>(model.n_ev));
}

bool PcaInfiller::infill(std::span<float> flux, std::span<const std::uint8_t> mask) {
  const int B = model_.n_bins;
  SPECVAE_CHECK(static_cast<int>(flux.size()) == B && static_cast<int>(mask.size()) == B, "infill: {} bins, model {}",
                flux.size(), B);
  masked_.clear();
  double un_x = 0, un_mu = 0;
  for (int b = 0; b < B; ++b) {
    x_[b] = flux[b];
    if (mask[b]) {
      masked_.push_back(b);
    } else {
      un_x += x_[b] * x_[b];
      un_mu += model_.mean[b] * model_.mean[b];
    }
  }
  if (masked_.empty()) return true;
  if (masked_.size() == static_cast<std::size_t>(B)) return false;
  // Start from the mean spectrum scaled to the unmasked part.
  const double s0 = un_mu > 0 ? std::sqrt(un_x / un_mu) : 0.0;
  for (auto b : masked_) x_[b] = s0 * model_.mean[b];
  for (int it = 0; it < n_iter_; ++it) {
    const double s = l2norm(x_);
    if (!(s > 0)) break;
    for (double& v : x_) v /= s;
    std::fill(a_.begin(), a_.end(), 0.0);
    if (model_.n_ev > 0) project_unmasked(model_, x_, masked_, a_, gram_, b_);
    const double change = fill_masked(model_, x_, masked_, a_);
    for (double& v : x_) v *= s;
    if (change < kConverged) break;
  }
  for (auto b : masked_) flux[b] = static_cast<float>(x_[b]);
  return true;
}

}  // namespace specvae::ingest
