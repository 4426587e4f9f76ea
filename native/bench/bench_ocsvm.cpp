// Fit time of the one-class SVM solver with the reference RBF kernel source.
//
//   bench_ocsvm --m 5000 --d 512 [--data X.f32] [--gamma G | --gamma scale] [--nu 0.5]
//               [--tol 1e-3] [--cache-mb 1024] [--threads 0] [--no-shrinking] [--lazy]
//               [--row-batch 16] [--warm-start 2048]
//               [--source reference|fast|backend] [--reps 1]
//
// --data: raw little-endian float32, m x d row-major (bench/ocsvm_sklearn.py writes it so both
// sides fit the same matrix); without it the data are uniform [0, 1) from a fixed seed.
// --source fast: a GEMM-style fp32 stand-in for the addon's kernel source (see FastRbfSource).
// --source backend: the addon's path without Node: column statistics (gamma 'scale' and the
// centring), then fitOneClassSvm on the CPU backend, both timed. --reps: that many fits in this
// process; fit_s is the fastest, fit_median_s the median (builds are compared by alternating runs).
// Prints one JSON line: iterations, objective, rho, nSV, time split (kernel rows / rest), peak RSS.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../tests/rbf_reference.h"
#include "oneclass/backend.h"
#include "oneclass/column_stats.h"
#include "oneclass/errors.h"
#include "oneclass/ocsvm.h"
#include "oneclass/parallel.h"

using namespace oneclass::ocsvm;

// Peak resident memory of this process image in MB (VmHWM; getrusage's ru_maxrss would include
// the parent's pages when started by fork+exec from Python).
static double peakRssMb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

// A stand-in for the GEMM-based source the addon will use, so the solver's cache strategies can be
// measured with a fast kernel: K = exp(-gamma * max(0, |a|^2 + |b|^2 - 2 a.b)) in fp32, the dot
// products as a register-blocked product with the transposed data (4 rows x 32 columns per
// tile, vectorized by the compiler), exp by a vectorizable Cephes-style polynomial (rel. error
// ~2e-7). Not the production kernel: no packing for L1, no tuning.
class FastRbfSource : public KernelRowSource {
 public:
  FastRbfSource(const float* x, int64_t l, int64_t d, double gamma, int threads)
      : l_(l),
        d_(d),
        gamma_(float(gamma)),
        threads_(oneclass::resolveThreads(threads)),
        x_(x),
        xt_(size_t(l * d)),
        sq_(size_t(l)) {
    for (int64_t i = 0; i < l; ++i) {
      double s = 0;
      for (int64_t k = 0; k < d; ++k) {
        xt_[size_t(k * l + i)] = x[i * d + k];
        s += double(x[i * d + k]) * x[i * d + k];
      }
      sq_[size_t(i)] = float(s);
    }
  }
  int64_t size() const override { return l_; }
  double diag(int64_t) const override { return 1.0; }
  void computeRows(const int64_t* rows, int count, float* out) override {
    constexpr int R = 4, C = 32;
    const int64_t rowGroups = (count + R - 1) / R, colTiles = (l_ + C - 1) / C;
    oneclass::parallelFor(rowGroups * colTiles, threads_, [&](int64_t item, int) {
      const int64_t g = item / colTiles, j0 = (item % colTiles) * C;
      const int r0 = int(g * R), nr = std::min(R, count - r0);
      const int64_t nc = std::min<int64_t>(C, l_ - j0);
      float acc[R][C] = {};
      const float* a[R];
      for (int r = 0; r < R; ++r) a[r] = x_ + rows[r0 + std::min(r, nr - 1)] * d_;
      if (nc == C) {
        for (int64_t k = 0; k < d_; ++k) {
          const float* b = xt_.data() + k * l_ + j0;
          for (int r = 0; r < R; ++r) {
            const float av = a[r][k];
            for (int c = 0; c < C; ++c) acc[r][c] += av * b[c];
          }
        }
      } else {
        for (int64_t k = 0; k < d_; ++k) {
          const float* b = xt_.data() + k * l_ + j0;
          for (int r = 0; r < R; ++r)
            for (int64_t c = 0; c < nc; ++c) acc[r][c] += a[r][k] * b[c];
        }
      }
      for (int r = 0; r < nr; ++r) {
        const float sa = sq_[size_t(rows[r0 + r])];
        float* o = out + int64_t(r0 + r) * l_ + j0;
        for (int64_t c = 0; c < nc; ++c) {
          float d2 = std::max(0.0f, sa + sq_[size_t(j0 + c)] - 2.0f * acc[r][c]);
          o[c] = expNeg(-gamma_ * d2);
        }
      }
    });
  }

 private:
  // exp(x) for x <= 0: x = n ln2 + f, |f| <= ln2/2, degree-6 polynomial, scale by 2^n.
  static inline float expNeg(float x) {
    x = std::max(x, -87.0f);
    float n = std::nearbyint(x * 1.44269504088896341f);
    float f = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * f + 1.3981999507e-3f;
    p = p * f + 8.3334519073e-3f;
    p = p * f + 4.1665795894e-2f;
    p = p * f + 1.6666665459e-1f;
    p = p * f + 5.0000001201e-1f;
    p = p * f * f + f + 1.0f;
    int32_t bits = (int32_t(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
  }
  int64_t l_, d_;
  float gamma_;
  int threads_;
  const float* x_;
  std::vector<float> xt_, sq_;
};

int main(int argc, char** argv) {
  int64_t m = 5000, d = 512;
  std::string data, gammaArg = "scale", source = "reference";
  int reps = 1;
  SolverOptions opt;
  for (int a = 1; a < argc; ++a) {
    std::string k = argv[a];
    auto val = [&]() -> std::string {
      if (a + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", k.c_str());
        std::exit(2);
      }
      return argv[++a];
    };
    if (k == "--m")
      m = std::stoll(val());
    else if (k == "--d")
      d = std::stoll(val());
    else if (k == "--data")
      data = val();
    else if (k == "--gamma")
      gammaArg = val();
    else if (k == "--nu")
      opt.nu = std::stod(val());
    else if (k == "--tol")
      opt.tol = std::stod(val());
    else if (k == "--cache-mb")
      opt.cacheMb = std::stod(val());
    else if (k == "--threads")
      opt.threads = std::stoi(val());
    else if (k == "--max-iter")
      opt.maxIter = std::stoll(val());
    else if (k == "--no-shrinking")
      opt.shrinking = false;
    else if (k == "--lazy")
      opt.precompute = false;
    else if (k == "--source")
      source = val();
    else if (k == "--row-batch")
      opt.rowBatch = std::stoi(val());
    else if (k == "--warm-start")
      opt.warmStartSample = std::stoll(val());
    else if (k == "--reps")
      reps = std::max(1, std::stoi(val()));
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  std::vector<float> x(size_t(m * d));
  if (!data.empty()) {
    std::ifstream f(data, std::ios::binary);
    f.read(reinterpret_cast<char*>(x.data()), std::streamsize(x.size() * sizeof(float)));
    if (!f) {
      std::fprintf(stderr, "cannot read %lld x %lld floats from %s\n", (long long)m, (long long)d, data.c_str());
      return 2;
    }
  } else {
    std::mt19937_64 rng(12345);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (auto& v : x) v = u(rng);
  }
  double gamma;
  if (gammaArg == "scale") {  // scikit-learn: 1 / (n_features * X.var()), variance over all entries
    double mean = 0, sq = 0;
    for (float v : x) mean += v;
    mean /= double(x.size());
    for (float v : x) sq += (double(v) - mean) * (double(v) - mean);
    gamma = 1.0 / (double(d) * (sq / double(x.size())));
  } else {
    gamma = std::stod(gammaArg);
  }

  try {
    SolverResult r;
    std::vector<double> fits;
    for (int rep = 0; rep < reps; ++rep) {
      auto t0 = std::chrono::steady_clock::now();
      if (source == "backend") {
        const oneclass::ColumnStats stats =
            oneclass::columnStats(x.data(), m, d, oneclass::RowTransform{}, opt.threads);
        if (gammaArg == "scale") gamma = stats.variance > 0 ? 1.0 / (double(d) * stats.variance) : 1.0;
        oneclass::RowTransform centred;
        centred.center.assign(stats.mean.begin(), stats.mean.end());
        r = fitOneClassSvm(oneclass::cpuBackend(), x.data(), m, d, centred, gamma, opt);
      } else {
        std::unique_ptr<KernelRowSource> kernel;
        if (source == "fast")
          kernel.reset(new FastRbfSource(x.data(), m, d, gamma, opt.threads));
        else
          kernel.reset(new RbfKernelSource(x.data(), m, d, gamma, opt.threads));
        r = solveOneClass(*kernel, opt);
      }
      fits.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    const double fit = *std::min_element(fits.begin(), fits.end());
    std::sort(fits.begin(), fits.end());
    const double fitMedian = fits[fits.size() / 2];
    int64_t nsv = 0;
    for (double a : r.alpha) nsv += a > 0;
    auto flag = [](bool b) { return b ? "true" : "false"; };
    std::printf(
        "{\"source\":\"%s\",\"m\":%lld,\"d\":%lld,\"gamma\":%.17g,\"nu\":%g,\"tol\":%g,"
        "\"cache_mb\":%g,\"shrinking\":%s,\"precompute\":%s,\"row_batch\":%d,"
        "\"iterations\":%lld,\"converged\":%s,\"objective\":%.17g,\"rho\":%.17g,"
        "\"n_support\":%lld,\"fit_s\":%.4f,\"fit_median_s\":%.4f,\"reps\":%d,\"kernel_s\":%.4f,\"solver_only_s\":%.4f,"
        "\"kernel_rows\":%lld,\"smallest_active\":%lld,\"full_matrix\":%s,\"packed_matrix\":%s,"
        "\"warm_start\":%lld,\"warm_start_overlap\":%lld,\"peak_rss_mb\":%.1f}\n",
        source.c_str(), (long long)m, (long long)d, gamma, opt.nu, opt.tol, opt.cacheMb, flag(opt.shrinking),
        flag(opt.precompute), opt.rowBatch, (long long)r.iterations, flag(r.converged), r.objective, r.rho,
        (long long)nsv, fit, fitMedian, reps, r.kernelSeconds, fit - r.kernelSeconds, (long long)r.kernelRowsComputed,
        (long long)r.smallestActiveSet, flag(r.fullMatrix), flag(r.packedMatrix), (long long)r.warmStartSample,
        (long long)r.warmStartOverlap, peakRssMb());
  } catch (const oneclass::Error& e) {
    std::fprintf(stderr, "%s: %s\n", e.codeName(), e.what());
    return 1;
  }
  return 0;
}
