// Simulator throughput: spectra per second for (a) drawing + rendering only (model, noise,
// defects; no I/O) and (b) whole file groups written to disk (coadd + redrock), one thread.
// Run: OMP_NUM_THREADS=1 bench_simulate [--benchmark_out=...]; the end-to-end 20k-spectra
// timings with 1 and 2 MPI ranks are in bench/bench_simulate.sh.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "specvae/simulate/simulate.hpp"

namespace {

using namespace specvae::sim;

SurveySpec bench_spec(std::int64_t n, std::int64_t per_file) {
  SurveySpec s = SurveySpec::from_config(specvae::Config::defaults());
  s.n_spectra = n;
  s.spectra_per_file = per_file;
  return s;
}

void BM_RenderOnly(benchmark::State& state) {
  const SurveySpec spec = bench_spec(1 << 20, 2500);
  const Instrument inst = make_instrument(spec.exptime);
  Renderer renderer(inst);
  std::array<std::vector<float>, kNumCameras> flux, ivar;
  std::array<std::vector<std::int32_t>, kNumCameras> mask;
  SpectrumView view;
  for (int c = 0; c < kNumCameras; ++c) {
    const std::size_t n = static_cast<std::size_t>(inst.cameras[static_cast<std::size_t>(c)].nwave);
    flux[static_cast<std::size_t>(c)].resize(n);
    ivar[static_cast<std::size_t>(c)].resize(n);
    mask[static_cast<std::size_t>(c)].resize(n);
    view.flux[static_cast<std::size_t>(c)] = flux[static_cast<std::size_t>(c)].data();
    view.ivar[static_cast<std::size_t>(c)] = ivar[static_cast<std::size_t>(c)].data();
    view.mask[static_cast<std::size_t>(c)] = mask[static_cast<std::size_t>(c)].data();
  }
  std::int64_t index = 0;
  double checksum = 0;
  for (auto _ : state) {
    const ObjectParams p = draw_object(spec, index++ % spec.n_spectra);
    const RenderResult r = renderer.render(p, spec.seed, {}, view);
    checksum += r.snr;
  }
  if (!(checksum > 0)) state.SkipWithError("rendered spectra have no signal");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderOnly)->Unit(benchmark::kMicrosecond);

void BM_DrawObject(benchmark::State& state) {
  const SurveySpec spec = bench_spec(1 << 20, 2500);
  std::int64_t index = 0;
  for (auto _ : state) benchmark::DoNotOptimize(draw_object(spec, index++ % spec.n_spectra));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DrawObject)->Unit(benchmark::kMicrosecond);

void BM_WriteGroup(benchmark::State& state) {
  const std::int64_t per_file = state.range(0);
  const SurveySpec spec = bench_spec(per_file * 4, per_file);
  const Instrument inst = make_instrument(spec.exptime);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "specvae_bench_simulate";
  std::filesystem::create_directories(dir);
  std::int64_t g = 0;
  for (auto _ : state) {
    const GroupResult r = simulate_group(spec, inst, g++ % 4, dir);
    benchmark::DoNotOptimize(r.truth_rows.data());
  }
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations() * per_file);
}
BENCHMARK(BM_WriteGroup)->Arg(500)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
