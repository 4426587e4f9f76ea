// Native benchmark without Node: GFLOP/s of each op on the CPU backend, and on CUDA when a
// device is usable. Sizes follow the benchmark (N=10,000 x M=5,000 x D=512).
// Prints one JSON object per line so scripts can collect them.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "../tests/test_util.h"
#include "oneclass/backend.h"
#include "oneclass/gaussian.h"
#include "oneclass/ocsvm.h"

using namespace oneclass;
using Clock = std::chrono::steady_clock;

static double bestOf(int reps, const std::function<void()>& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

static void report(const char* backend, const char* op, double seconds, double flops, const std::string& extra = "") {
  std::printf("{\"backend\":\"%s\",\"op\":\"%s\",\"seconds\":%.6f,\"gflops\":%.2f%s}\n", backend, op, seconds,
              flops / seconds / 1e9, extra.c_str());
  std::fflush(stdout);
}

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 10000, m = argc > 2 ? std::atoll(argv[2]) : 5000,
                d = argc > 3 ? std::atoll(argv[3]) : 512;
  const int reps = argc > 4 ? std::atoi(argv[4]) : 3;
  auto y = testing::gaussianMatrix(m, d, 1), x = testing::gaussianMatrix(n, d, 2);
  std::vector<Backend*> backends;
  if (!std::getenv("ONECLASS_BENCH_GPU_ONLY")) backends.push_back(&cpuBackend());
  if (Backend* g = cudaBackend()) backends.push_back(g);
  const double gemm = 2.0 * n * m * d;
  for (Backend* b : backends) {
    RowTransform tr;
    tr.l2normalize = true;
    auto ref = b->prepare(y.data(), m, d, tr);
    std::vector<double> out(n);
    report(b->name(), "kde", bestOf(reps, [&] { b->kernelLogSum(*ref, x.data(), n, 5.0, nullptr, out.data(), {}); }),
           gemm);
    std::vector<double> dist(n);
    std::vector<int64_t> idx(n);
    report(b->name(), "knn1", bestOf(reps, [&] { b->nearest(*ref, x.data(), n, 1, dist.data(), idx.data(), {}); }),
           gemm);
    std::vector<double> dist5(n * 5);
    std::vector<int64_t> idx5(n * 5);
    report(b->name(), "knn5", bestOf(reps, [&] { b->nearest(*ref, x.data(), n, 5, dist5.data(), idx5.data(), {}); }),
           gemm);
    {
      // The OC-SVM decision function's kernel sums (float64 exponentials), same shapes as the KDE.
      std::vector<double> alpha(static_cast<size_t>(m));
      for (int64_t j = 0; j < m; ++j) alpha[j] = 0.1 + 0.9 * static_cast<double>((j * 37) % 11) / 10.0;
      report(b->name(), "ocsvm_decision",
             bestOf(reps, [&] { b->kernelWeightedSum(*ref, x.data(), n, 5.0, alpha.data(), out.data(), {}); }), gemm);
    }
    auto w = testing::gaussianMatrix(d, d, 3);
    auto proj = b->prepare(w.data(), d, d, RowTransform{});
    report(b->name(), "gde_score", bestOf(reps, [&] { b->projectedSquaredNorm(*proj, x.data(), n, out.data(), {}); }),
           2.0 * n * d * d);
    {
      // One-class SVM fit (nu 0.5, gamma 1/D on raw Gaussian data): kernel rows from this backend,
      // the solver on the CPU.
      RowTransform centred;
      centred.center.assign(static_cast<size_t>(d), 0.0f);
      ocsvm::SolverOptions opt;
      opt.nu = 0.5;
      opt.cacheMb = 4096;
      ocsvm::SolverResult r;
      const double s =
          bestOf(1, [&] { r = ocsvm::fitOneClassSvm(*b, y.data(), m, d, centred, 1.0 / static_cast<double>(d), opt); });
      report(b->name(), "ocsvm_fit", s, 2.0 * m * m * d,
             ",\"m\":" + std::to_string(m) + ",\"kernel_seconds\":" + std::to_string(r.kernelSeconds) +
                 ",\"iterations\":" + std::to_string(r.iterations) + ",\"objective\":" + std::to_string(r.objective));
    }
    HeatmapOptions o;
    o.outHeight = o.outWidth = 256;
    auto grids = testing::gaussianMatrix(1000 * 57, 57, 4);
    HeatmapPlan plan = makeHeatmapPlan(57, 57, o);
    std::vector<float> maps(1000 * 256 * 256);
    double s = bestOf(reps, [&] { b->upsample(plan, grids.data(), 1000, maps.data(), {}); });
    report(b->name(), "heatmaps_1000x57to256", s, 1.0,
           ",\"gbytes_written_per_s\":" + std::to_string(maps.size() * 4 / s / 1e9));
  }
  report("cpu", "gaussian_fit", bestOf(reps, [&] { fitGaussian(x.data(), n, d, GaussianOptions{}); }), 2.0 * n * d * d);
  return 0;
}
