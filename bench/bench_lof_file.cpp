// LOF on a raw float32 point file, for the side-by-side comparison with scikit-learn
// (bench/lof_vs_sklearn.py): reads N×D floats, runs specvae's LOF (k-d tree, brute force or
// FAISS), writes the N negative outlier factors as float64 and prints the timings.
// Usage: bench_lof_file POINTS.f32 N D K METHOD THREADS OUT.f64
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "specvae/score/lof.hpp"

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: %s POINTS.f32 N D K METHOD THREADS OUT.f64\n", argv[0]);
    return 2;
  }
  const std::int64_t n = std::atoll(argv[2]);
  const int d = std::atoi(argv[3]), k = std::atoi(argv[4]), threads = std::atoi(argv[6]);
  std::vector<float> x(static_cast<std::size_t>(n) * d);
  std::ifstream in(argv[1], std::ios::binary);
  in.read(reinterpret_cast<char*>(x.data()), static_cast<std::streamsize>(x.size() * sizeof(float)));
  if (!in) {
    std::fprintf(stderr, "%s: cannot read %lld×%d floats\n", argv[1], static_cast<long long>(n), d);
    return 1;
  }
  const auto method = specvae::score::parse_knn_method(argv[5]);
  const auto t0 = std::chrono::steady_clock::now();
  const specvae::score::LofResult r = specvae::score::lof(x, n, d, k, method, threads);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::ofstream(argv[7], std::ios::binary)
      .write(reinterpret_cast<const char*>(r.nof.data()), static_cast<std::streamsize>(r.nof.size() * sizeof(double)));
  std::printf("{\"n\": %lld, \"d\": %d, \"k\": %d, \"method\": \"%s\", \"threads\": %d, \"knn_s\": %.3f, \"total_s\": %.3f}\n",
              static_cast<long long>(n), d, k, argv[5], threads, r.knn_seconds, total);
  return 0;
}
