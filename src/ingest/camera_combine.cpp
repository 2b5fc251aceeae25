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
// A step between neighbouring grid pixels this many times wider than the pixels on either side
// is a stretch of wavelength no camera covers (a camera missing from the file).
constexpr double kGapFactor = 4.0;

// Pixel edges as midpoints between centres, except that a gap in the grid gets a pixel of its
// own that no camera maps to (so it is never good: it is interpolated over and the rest-frame
// bins it covers are masked), and the pixels beside it keep their own widths instead of
// stretching half-way across it.
void add_gap_pixels(BrzGrid& g) {
  const std::vector<double> w = g.wave;
  const std::size_t n = w.size();
  auto step = [&](std::size_t i) { return w[i + 1] - w[i]; };  // i + 1 < n
  std::vector<std::size_t> gap_after;  // real pixel i is followed by a gap
  for (std::size_t i = 0; i + 1 < n; ++i) {
    double local = 0;
    if (i > 0) local = std::max(local, step(i - 1));
    if (i + 2 < n) local = std::max(local, step(i + 1));
    if (local > 0 && step(i) > kGapFactor * local) gap_after.push_back(i);
  }
  if (gap_after.empty()) {
    g.edges = edges_from_centres(g.wave);
    return;
  }
  std::vector<std::int32_t> new_index(n);
  g.wave.clear();
  g.edges.clear();
  std::size_t next_gap = 0;
  // Half a pixel's width, from its step on one side; a side that is a gap or the grid's end
  // gives no width, so the grid's typical (median) step stands in.
  std::vector<double> steps(n - 1);
  for (std::size_t i = 0; i + 1 < n; ++i) steps[i] = step(i);
  std::nth_element(steps.begin(), steps.begin() + static_cast<std::ptrdiff_t>(steps.size() / 2), steps.end());
  const double typical = steps[steps.size() / 2];
  const auto gap_between = [&](std::size_t i) { return std::binary_search(gap_after.begin(), gap_after.end(), i); };
  const auto half_from_left = [&](std::size_t i) { return i > 0 && !gap_between(i - 1) ? 0.5 * step(i - 1) : 0.5 * typical; };
  const auto half_from_right = [&](std::size_t i) { return i + 1 < n && !gap_between(i) ? 0.5 * step(i) : 0.5 * typical; };
  for (std::size_t i = 0; i < n; ++i) {
    const bool gap_before = next_gap > 0 && gap_after[next_gap - 1] + 1 == i;
    if (g.edges.empty() || gap_before) g.edges.push_back(w[i] - half_from_right(i));
    else g.edges.push_back(0.5 * (w[i - 1] + w[i]));
    new_index[i] = static_cast<std::int32_t>(g.wave.size());
    g.wave.push_back(w[i]);
    if (next_gap < gap_after.size() && gap_after[next_gap] == i) {
      // The pixels beside the gap take at most a quarter of it each, so the gap pixel has width.
      const double lo = std::min(w[i] + half_from_left(i), w[i] + 0.25 * step(i));
      const double hi = std::max(w[i + 1] - half_from_right(i + 1), w[i + 1] - 0.25 * step(i));
      g.edges.push_back(lo);
      g.wave.push_back(0.5 * (lo + hi));  // the gap's own pixel
      ++next_gap;
    }
  }
  g.edges.push_back(w[n - 1] + half_from_left(n - 1));
  for (auto& m : g.map)
    for (auto& k : m) k = new_index[static_cast<std::size_t>(k)];
}
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
  add_gap_pixels(g);
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
