// Throughput of one data-parallel training step of the paper's VAE (1000-800-600-500-300-
// (10)-300-500-600-800-1000, batch 512) on the CPU backend: forward, backward and the
// gradient all-reduce (one rank) for each SGEMM library and thread count. Reports spectra/s
// and the fraction of the SGEMM FLOPs rate. Warm-up: one step before timing; Google
// Benchmark repeats until stable. Run: build/bench/bench_train_step [--benchmark_repetitions=3]
#include <benchmark/benchmark.h>

#include <cmath>

#include "specvae/core/config.hpp"
#include "specvae/dist/communicator.hpp"
#include "specvae/io/dataset.hpp"
#include "specvae/train/trainer.hpp"

using namespace specvae;

namespace {
DatasetRows rows(std::int64_t n, int bins) {
  DatasetRows r;
  r.resize(n, bins);
  for (std::int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < bins; ++j) {
      const std::size_t k = static_cast<std::size_t>(i) * bins + j;
      r.flux[k] = static_cast<float>(std::sin(0.01 * j * (1 + i % 13)) / std::sqrt(bins));
      r.ivar[k] = 100.0f;
    }
    r.split[static_cast<std::size_t>(i)] = 0;
    r.spectype[static_cast<std::size_t>(i)] = "GALAXY";
  }
  return r;
}

// FLOPs of one spectrum's forward + backward: 2·in·out per layer forward, twice that
// backward (weight and input gradients; the first layer needs no input gradient).
double flops_per_spectrum(const model::VaeShape& s) {
  double f = 0;
  const auto layers = s.layers();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const double mac = static_cast<double>(layers[i].n_in) * layers[i].n_out;
    f += 2 * mac + 2 * mac + (i == 0 ? 0 : 2 * mac);
  }
  return f;
}

void BM_TrainStep(benchmark::State& state, const char* gemm) {
  const int threads = static_cast<int>(state.range(0));
  Config config = Config::defaults();
  config.set(std::string("train.gemm=") + gemm);
  config.set("train.threads=" + std::to_string(threads));
  const DatasetRows data = rows(2048, 1000);
  run_in_process(1, [&](Communicator& comm) {
    train::Trainer trainer(config, comm, data, nullptr);
    std::int64_t step = 0;
    trainer.compute_gradient(0, 0, step++);
    for (auto _ : state) {
      const auto l = trainer.compute_gradient(0, step % trainer.batches_per_epoch(), step);
      benchmark::DoNotOptimize(l.loss_sum);
      ++step;
    }
    const double spectra = static_cast<double>(state.iterations()) * 512;
    state.counters["spectra_per_s"] = benchmark::Counter(spectra, benchmark::Counter::kIsRate);
    state.counters["GFLOPs"] =
        benchmark::Counter(spectra * flops_per_spectrum(trainer.shape()) / 1e9, benchmark::Counter::kIsRate);
  });
}
}  // namespace

BENCHMARK_CAPTURE(BM_TrainStep, openblas, "openblas")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TrainStep, onednn, "onednn")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
