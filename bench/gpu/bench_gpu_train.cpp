// Training and scoring throughput of the VAE on the CUDA backend: the model's own VaeGraph
// (the trainer's and scorer's pass) on the paper's architecture, data resident on the GPU.
// Method: warm-up steps, then the median of `repeats` timed blocks of `steps` steps each,
// synchronised at block ends. Prints one markdown table row per configuration.
// Usage: specvae_bench_gpu_train [steps=50] [repeats=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "specvae/gpu/cuda_backend.hpp"
#include "specvae/gpu/resources.hpp"
#include "specvae/model/vae_graph.hpp"

using namespace specvae;

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Data {
  model::DeviceBuffer x, w, params, grads, m, v;
};

Data make_data(model::Backend& be, const model::VaeShape& shape, int rows) {
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> flux(-0.05f, 0.08f), ivar(50.0f, 400.0f);
  std::vector<float> hx(static_cast<std::size_t>(rows) * shape.n_input), hw(hx.size());
  for (auto& f : hx) f = flux(gen);
  for (auto& f : hw) f = ivar(gen);
  const std::size_t np = static_cast<std::size_t>(shape.n_params());
  Data d{model::DeviceBuffer(be, hx.size()), model::DeviceBuffer(be, hw.size()), model::DeviceBuffer(be, np),
         model::DeviceBuffer(be, np), model::DeviceBuffer(be, np), model::DeviceBuffer(be, np)};
  be.upload(d.x.data(), hx.data(), hx.size());
  be.upload(d.w.data(), hw.data(), hw.size());
  const auto p = model::initial_parameters(shape, 3);
  be.upload(d.params.data(), p.data(), p.size());
  return d;
}

// Spectra per second of training steps (pass + Adam) at batch `batch`.
double train_rate(model::Backend& be, const model::VaeShape& shape, int batch, int steps, int repeats) {
  Data d = make_data(be, shape, batch);
  model::VaeGraph graph(shape, be, batch);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(batch));
  model::PassOptions opts;
  opts.seed = 1;
  opts.grad_scale = 1.0f / static_cast<float>(batch);
  const std::size_t np = static_cast<std::size_t>(shape.n_params());
  std::int64_t step = 0;
  auto one = [&] {
    for (int i = 0; i < batch; ++i) ids[static_cast<std::size_t>(i)] = step * batch + i;
    opts.step = static_cast<std::uint32_t>(step);
    graph.run(d.params.data(), d.x.data(), d.w.data(), batch, ids, opts, d.grads.data());
    model::AdamParams ap;
    ap.t = ++step;
    be.adam_step(d.params.data(), d.grads.data(), d.m.data(), d.v.data(), np, ap);
  };
  for (int i = 0; i < 10; ++i) one();
  be.synchronize();
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) one();
    be.synchronize();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(double(steps) * batch / s);
  }
  return median(rates);
}

// Spectra per second of the scoring pass (encode, decode at μ for Eq. 6, one sampled decode,
// losses), no gradients.
double score_rate(model::Backend& be, const model::VaeShape& shape, int batch, int repeats) {
  Data d = make_data(be, shape, batch);
  model::VaeGraph graph(shape, be, batch);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(batch));
  for (int i = 0; i < batch; ++i) ids[static_cast<std::size_t>(i)] = i;
  model::PassOptions opts;
  opts.training = false;
  opts.eq6 = true;
  opts.noise_purpose = rng::kScoreNoise;
  for (int i = 0; i < 3; ++i) graph.run(d.params.data(), d.x.data(), d.w.data(), batch, ids, opts, nullptr);
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 5; ++i) graph.run(d.params.data(), d.x.data(), d.w.data(), batch, ids, opts, nullptr);
    be.synchronize();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(5.0 * batch / s);
  }
  return median(rates);
}
}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 50;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  if (gpu_device_count() == 0) {
    std::printf("no GPU: %s\n", gpu_unavailable_reason().c_str());
    return 2;
  }
  const model::VaeShape shape;  // the paper's 1000-800-600-500-300-(10)-300-500-600-800-1000
  std::printf("| what | batch | math | spectra/s |\n|---|---|---|---|\n");
  for (bool tf32 : {false, true}) {
    auto be = gpu::make_cuda_backend(0, tf32);
    if (!tf32) std::fprintf(stderr, "%s; model %s, %lld parameters\n", be->describe().c_str(), shape.describe().c_str(),
                            static_cast<long long>(shape.n_params()));
    for (int batch : {512, 2048, 8192})
      std::printf("| train step (specvae cuda) | %d | %s | %.0f |\n", batch, tf32 ? "tf32" : "fp32",
                  train_rate(*be, shape, batch, steps, repeats));
    for (int batch : {65536})
      std::printf("| score pass (specvae cuda) | %d | %s | %.0f |\n", batch, tf32 ? "tf32" : "fp32",
                  score_rate(*be, shape, batch, repeats));
    std::fflush(stdout);
    // The layer forward as one cuBLASLt matmul with the bias/ReLU epilogue, against the
    // SGEMM + kernel rows above (train.cuda_epilogue): the target batch and the scoring pass.
    auto lt = gpu::make_cuda_backend(0, tf32, /*lt_epilogue=*/true);
    std::printf("| train step (specvae cuda, cuBLASLt epilogue) | 512 | %s | %.0f |\n", tf32 ? "tf32" : "fp32",
                train_rate(*lt, shape, 512, steps, repeats));
    std::printf("| score pass (specvae cuda, cuBLASLt epilogue) | 65536 | %s | %.0f |\n", tf32 ? "tf32" : "fp32",
                score_rate(*lt, shape, 65536, repeats));
    std::fprintf(stderr, "%s\n", lt->describe().c_str());  // how many layer forwards cuBLASLt really ran
    std::fflush(stdout);
  }
  return 0;
}
