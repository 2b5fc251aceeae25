// Combining a spectrum's cameras onto one brz grid, as desispec's coadd_cameras does
// (REFERENCE.md §5.3), with unusable pixels (bad MASK bits, zero or non-finite values) given
// zero weight so that the other camera of an overlap alone decides the value there.
#include <algorithm>
#include <cmath>

#include "specvae/core/error.hpp"
#include "specvae/ingest/spectrum_prep.hpp"

namespace specvae::ingest {

namespace {
// desispec aligns camera grids with this tolerance (Å).
constexpr double kGridTolerance = 1e-4;
}  // namespace

BrzGrid make_brz_grid(const std::vector<CameraData>& cameras, const std::filesystem::path& file) {
  if (cameras.empty()) throw InputError(fmt::format("{}: no camera (X_FLUX/X_WAVELENGTH HDUs) found", file.string()));
  BrzGrid g;
  g.map.resize(cameras.size());
  for (std::size_t c = 0; c < cameras.size(); ++c) {
    const auto& wave = cameras[c].wave;
    if (wave.empty()) throw InputError(fmt::format("{}: {}_WAVELENGTH is empty", file.string(), cameras[c].name));
    auto& m = g.map[c];
    m.resize(wave.size());
    for (std::size_t i = 0; i < wave.size(); ++i) {
      const double w = wave[i];
      if (g.wave.empty() || w > g.wave.back() + kGridTolerance) {
        m[i] = static_cast<std::int32_t>(g.wave.size());
        g.wave.push_back(w);
        continue;
      }
      // Overlap with the grid built so far: the pixel must sit on it.
      auto it = std::lower_bound(g.wave.begin(), g.wave.end(), w - kGridTolerance);
      if (it == g.wave.end() || std::abs(*it - w) > kGridTolerance)
        throw InputError(fmt::format("{}: {}_WAVELENGTH pixel {} ({:.6f} Å) is not aligned with the other cameras' "
                                     "grid within {} Å",
                                     file.string(), cameras[c].name, i, w, kGridTolerance));
      m[i] = static_cast<std::int32_t>(it - g.wave.begin());
    }
  }
  if (g.wave.size() < 2) throw InputError(fmt::format("{}: fewer than two wavelengths", file.string()));
  g.edges = edges_from_centres(g.wave);
  return g;
}

void combine_cameras(const std::vector<CameraData>& cameras, const BrzGrid& grid, std::size_t row,
                     std::uint32_t bad_mask_bits, std::span<double> flux, std::span<double> ivar,
                     std::span<std::uint8_t> good) {
  const std::size_t n = grid.wave.size();
  SPECVAE_CHECK(flux.size() == n && ivar.size() == n && good.size() == n, "combine: buffers of {} for a grid of {}",
                flux.size(), n);
  std::fill(flux.begin(), flux.end(), 0.0);
  std::fill(ivar.begin(), ivar.end(), 0.0);
  for (std::size_t c = 0; c < cameras.size(); ++c) {
    const auto& cam = cameras[c];
    const std::size_t nw = cam.nwave(), off = row * nw;
    const float* f = cam.flux.data() + off;
    const float* iv = cam.ivar.data() + off;
    const std::int32_t* mk = cam.has_mask ? cam.mask.data() + off : nullptr;
    const auto& m = grid.map[c];
    for (std::size_t i = 0; i < nw; ++i) {
      const double fi = f[i], wi = iv[i];
      if (!(wi > 0) || !std::isfinite(wi) || !std::isfinite(fi) || fi == 0.0) continue;
      if (mk && (static_cast<std::uint32_t>(mk[i]) & bad_mask_bits) != 0) continue;
      flux[m[i]] += wi * fi;
      ivar[m[i]] += wi;
    }
  }
  for (std::size_t k = 0; k < n; ++k) {
    const bool ok = ivar[k] > 0;
    if (ok) flux[k] /= ivar[k];
    // A weighted mean of non-zero values can still round to exactly 0 only in pathological
    // cancellations; treat it like a zero-flux pixel.
    good[k] = ok && flux[k] != 0.0 && std::isfinite(flux[k]);
    if (!good[k]) flux[k] = 0;
  }
}

}  // namespace specvae::ingest
