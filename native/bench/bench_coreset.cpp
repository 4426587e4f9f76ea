// k-center coreset selection without Node: rows from a float32 file (bench/patch_features.py) or
// Gaussian rows, on the CPU and on CUDA when usable. One JSON line per backend.
//
//   bench_coreset FILE|- ROWS COLS COUNT [PROJECTION] [THREADS]     ("-": Gaussian rows)
//   ONECLASS_BENCH_GPU_ONLY=1: CUDA only; ONECLASS_BENCH_INDICES=PATH: the selection to PATH.<backend>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "../tests/test_util.h"
#include "oneclass/backend.h"
#include "oneclass/coreset.h"

using namespace oneclass;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: bench_coreset FILE|- ROWS COLS COUNT [PROJECTION] [THREADS]\n");
    return 2;
  }
  const std::string file = argv[1];
  const int64_t n = std::atoll(argv[2]), d = std::atoll(argv[3]);
  KCenterOptions o;
  o.count = std::atoll(argv[4]);
  o.projection = argc > 5 ? std::atoll(argv[5]) : 0;
  o.threads = argc > 6 ? std::atoi(argv[6]) : 0;
  std::vector<float> x;
  if (file == "-") {
    x = testing::gaussianMatrix(n, d, 1);
  } else {
    x.resize(static_cast<size_t>(n * d));
    std::ifstream f(file, std::ios::binary);
    if (!f.read(reinterpret_cast<char*>(x.data()), static_cast<std::streamsize>(x.size() * 4))) {
      std::fprintf(stderr, "cannot read %lld x %lld floats from %s\n", (long long)n, (long long)d, file.c_str());
      return 1;
    }
  }
  std::vector<Backend*> backends;
  if (!std::getenv("ONECLASS_BENCH_GPU_ONLY")) backends.push_back(&cpuBackend());
  if (Backend* g = cudaBackend()) backends.push_back(g);
  for (Backend* b : backends) {
    const auto t0 = std::chrono::steady_clock::now();
    const KCenterResult r = kCenterGreedy(*b, x.data(), n, d, o);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    long long checksum = 0;
    for (size_t i = 0; i < r.indices.size(); ++i) checksum += r.indices[i] * static_cast<long long>(i % 1000 + 1);
    std::printf(
        "{\"backend\":\"%s\",\"n\":%lld,\"d\":%lld,\"count\":%lld,\"projection\":%lld,\"seconds\":%.4f,"
        "\"distance_evaluations\":%lld,\"evaluations_vs_plain\":%.5f,\"covering_radius\":%.9g,\"checksum\":%lld}\n",
        b->name(), (long long)n, (long long)d, (long long)o.count, (long long)o.projection, s,
        (long long)r.distanceEvaluations, double(r.distanceEvaluations) / (double(n) * double(o.count)),
        r.coveringRadius, checksum);
    std::fflush(stdout);
    if (const char* path = std::getenv("ONECLASS_BENCH_INDICES")) {  // the selection, int64
      std::ofstream f(std::string(path) + "." + b->name(), std::ios::binary);
      f.write(reinterpret_cast<const char*>(r.indices.data()), static_cast<std::streamsize>(r.indices.size() * 8));
    }
  }
  return 0;
}
