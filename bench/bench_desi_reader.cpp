// Throughput of the DESI reader on a full-size synthetic coadd (b/r/z grids of 2751/2326/2881
// pixels, FLUX/IVAR/MASK + FIBERMAP): whole file, blocks of rows as ingest reads them, and
// tile-compressed masks as in spectra-*.fits. The file is written once to the temp dir and is
// in the page cache, so this measures CFITSIO decoding + our checks, not the disk.
// SPECVAE_BENCH_DESI_FILE=path keeps the plain file there (for bench/bench_desi_reader_astropy.py).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "../tests/unit/test_desi_reader_fixture.hpp"
#include "specvae/io/desi.hpp"

namespace {

// 1000 spectra ≈ 95 MB of FLUX+IVAR+MASK: large enough that per-call overheads (open, HDU
// index, header checks) are small against the pixel work, small enough for a 2-core machine.
constexpr long kSpectra = 1000;

specvae::testing::MiniCoadd full_size_coadd(bool compress_mask) {
  specvae::testing::MiniCoadd c;
  c.nspec = kSpectra;
  const char* names[] = {"B", "R", "Z"};
  const double starts[] = {3600.0, 5760.0, 7520.0};
  const int nwave[] = {2751, 2326, 2881};
  for (int k = 0; k < 3; ++k) {
    specvae::testing::MiniCamera cam;
    cam.name = names[k];
    cam.wave = specvae::testing::desi_grid(starts[k], nwave[k]);
    const std::size_t npix = std::size_t(kSpectra) * cam.wave.size();
    cam.flux.resize(npix);
    cam.ivar.resize(npix);
    cam.mask.assign(npix, 0);
    for (std::size_t i = 0; i < npix; ++i) {
      cam.flux[i] = float((i * 2654435761u) % 1000) * 0.01f - 2.0f;  // varied, not compressible
      cam.ivar[i] = 1.0f + float(i % 13);
      if (i % 997 == 0) cam.mask[i] = 4;  // sparse COSMIC bits, as in real masks
    }
    cam.compress_mask = compress_mask;
    c.cameras.push_back(std::move(cam));
  }
  for (long i = 0; i < kSpectra; ++i) c.targetid.push_back(39627866878511337 + i);
  return c;
}

const std::filesystem::path& bench_file(bool compress_mask) {
  static const std::filesystem::path plain = [] {
    const char* keep = std::getenv("SPECVAE_BENCH_DESI_FILE");
    auto p = keep ? std::filesystem::path(keep)
                  : std::filesystem::temp_directory_path() / "specvae-bench-coadd.fits";
    std::filesystem::remove(p);
    specvae::testing::write_coadd(full_size_coadd(false), p);
    return p;
  }();
  static const std::filesystem::path compressed = [] {
    auto p = std::filesystem::temp_directory_path() / "specvae-bench-spectra-rice.fits";
    std::filesystem::remove(p);
    specvae::testing::write_coadd(full_size_coadd(true), p);
    return p;
  }();
  return compress_mask ? compressed : plain;
}

constexpr double kBytesPerSpectrum = (2751 + 2326 + 2881) * (4.0 + 4.0 + 4.0);

void read_in_blocks(benchmark::State& state, bool compress_mask) {
  const auto& path = bench_file(compress_mask);
  const std::int64_t block = state.range(0);
  std::int64_t rows = 0;
  for (auto _ : state) {
    for (std::int64_t first = 0; first < kSpectra; first += block) {
      const auto s = specvae::read_desi_spectra(path, first, std::min<std::int64_t>(block, kSpectra - first));
      if (s.fibermap.back().targetid != 39627866878511337 + first + s.nspec - 1)
        state.SkipWithError("wrong TARGETID read back");
      benchmark::DoNotOptimize(s.cameras[2].flux.data());
      rows += s.nspec;
    }
  }
  state.SetItemsProcessed(rows);
  state.SetBytesProcessed(std::int64_t(double(rows) * kBytesPerSpectrum));
}

void BM_ReadCoadd(benchmark::State& state) { read_in_blocks(state, false); }
void BM_ReadSpectraRiceMask(benchmark::State& state) { read_in_blocks(state, true); }

// Rates are per CPU second (Google Benchmark's default) and the table shows wall time too: on a
// shared machine CPU time is the stable number, wall time what a job sees.
BENCHMARK(BM_ReadCoadd)->Arg(kSpectra)->Arg(256)->Arg(32)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_ReadSpectraRiceMask)->Arg(kSpectra)->Arg(256)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
