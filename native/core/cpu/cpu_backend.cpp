// CPU backend: each op transforms a superblock of query rows, then runs the dot engine with
// the op's epilogue. All epilogues keep per-(chunk,row) partial results that finish() merges.
// Compiled once per CPU level (cpu_level.h); cpu_dispatch.cpp's cpuBackend() returns one of them.
#include <cmath>
#include <limits>
#include <memory>

#include "coreset_cpu.h"
#include "dot_engine.h"
#include "heatmap_cpu.h"
#include "oneclass/backend.h"
#include "oneclass/errors.h"
#include "oneclass/scratch.h"
#include "oneclass/transform.h"
#include "positional_gaussian_cpu.h"

namespace ONECLASS_CPU_NAMESPACE {
namespace {

constexpr int NR = PackedPanels<float>::kPanelRows;
constexpr float kPadNorm = 1e30f;  // squared norm of padding rows: never a neighbour
constexpr float kNoContribution = -1e30f;

class CpuPointSet final : public PointSet {
 public:
  CpuPointSet(const float* rows, int64_t m, int64_t d, RowTransform t, bool transformRows, int threads)
      : PointSet(m, d, std::move(t)) {
    // Not value-initialized: applyTransform writes every value (a memset of the rows' size saved).
    // A kept block (oneclass/scratch.h): the transformed rows live only until they are packed,
    // and a fresh 40 MB block (20,000 x 512) cost about 0.15 s of page faults per fit in a VM.
    Scratch transformed = acquireScratch(static_cast<size_t>(m * d) * sizeof(float));
    std::unique_ptr<float[]> norms(new float[static_cast<size_t>(m)]);
    applyTransform(transformRows ? transform_ : RowTransform{}, rows, m, d, scratchData<float>(transformed),
                   norms.get(), threads);
    packed = packPanels<float>(scratchData<float>(transformed), m, d, threads);
    sqnorm.assign(static_cast<size_t>(packed.panels * NR), kPadNorm);
    std::copy(norms.get(), norms.get() + m, sqnorm.begin());
  }
  void copyRow(int64_t j, float* out) const override {
    for (int64_t k = 0; k < cols_; ++k) out[k] = packed.at(j, k);
  }
  PackedPanels<float> packed;
  std::vector<float> sqnorm;  // padded to whole panels
};

const CpuPointSet& asCpu(const PointSet& p) {
  auto* c = dynamic_cast<const CpuPointSet*>(&p);
  if (!c) fail(ErrorCode::InvalidArgument, "point set was prepared by another backend");
  return *c;
}

// Transforms queries superblock by superblock and calls score(a, xnorm, count, offset).
template <typename Score>
void forEachSuperblock(const PointSet& ref, const float* x, int64_t n, int threads, Score&& score) {
  const int64_t d = ref.cols(), block = superblockRows(d);
  // Not initialized: applyTransform writes every value it is given before it is read. A kept
  // block (oneclass/scratch.h): a fresh 20 MB buffer per call page-faulted in every call.
  Scratch rows = acquireScratch(static_cast<size_t>(std::min(n, block) * d) * sizeof(float));
  float* a = scratchData<float>(rows);
  std::unique_ptr<float[]> xnorm(new float[static_cast<size_t>(std::min(n, block))]);
  for (int64_t s = 0; s < n; s += block) {
    const int64_t count = std::min(block, n - s);
    applyTransform(ref.transform(), x + s * d, count, d, a, xnorm.get(), threads);
    score(a, xnorm.get(), count, s);
  }
}

inline void squaredDistances(const float* dots, int r, const float* xnorm, const float* yn, VF& d0, VF& d1) {
  const VF xn = splat<VF>(xnorm[r]);
  d0 = vmax(xn + loadVec<VF>(yn) - 2.0f * loadVec<VF>(dots + r * NR), VF{});
  d1 = vmax(xn + loadVec<VF>(yn + kFloatLanes) - 2.0f * loadVec<VF>(dots + r * NR + kFloatLanes), VF{});
}

// log sum_j exp(-gamma d_ij + logw_j) with a running maximum per (chunk, row).
struct LogSumEpilogue {
  const float* xnorm;
  const float* yn;
  const float* logw;  // padded; kNoContribution for padding / zero weight
  float gamma;
  double* out;
  int64_t n = 0;
  int chunks = 1;
  std::vector<float> maxArg;
  std::vector<double> sum;

  void begin(int64_t rows, int c) {
    n = rows;
    chunks = c;
    maxArg.assign(static_cast<size_t>(n * c), -std::numeric_limits<float>::infinity());
    sum.assign(static_cast<size_t>(n * c), 0.0);
  }
  void tile(int chunk, int64_t row0, int rows, int64_t col0, int, const float* dots) {
    const float* y = yn + col0;
    const VF w0 = loadVec<VF>(logw + col0), w1 = loadVec<VF>(logw + col0 + kFloatLanes);
    for (int r = 0; r < rows; ++r) {
      VF d0, d1;
      squaredDistances(dots, r, xnorm + row0, y, d0, d1);
      const VF a0 = w0 - gamma * d0, a1 = w1 - gamma * d1;
      const float tileMax = hmax(vmax(a0, a1));
      const size_t at = static_cast<size_t>(chunk * n + row0 + r);
      if (tileMax <= kNoContribution) continue;
      float& m = maxArg[at];
      if (tileMax > m) {
        sum[at] *= std::exp(static_cast<double>(m) - tileMax);
        m = tileMax;
      }
      const VF mv = splat<VF>(m);
      sum[at] += hsum(vexp(a0 - mv) + vexp(a1 - mv));
    }
  }
  void finish() {
    for (int64_t i = 0; i < n; ++i) {
      double top = -std::numeric_limits<double>::infinity();
      for (int c = 0; c < chunks; ++c) top = std::max<double>(top, maxArg[c * n + i]);
      if (top == -std::numeric_limits<double>::infinity()) {
        out[i] = top;
        continue;
      }
      double s = 0;
      for (int c = 0; c < chunks; ++c) {
        size_t at = static_cast<size_t>(c * n + i);
        if (sum[at] > 0) s += sum[at] * std::exp(maxArg[at] - top);
      }
      out[i] = top + std::log(s);
    }
  }
};

// The k smallest squared distances per row, kept sorted per (chunk, row).
struct NearestEpilogue {
  const float* xnorm;
  const float* yn;
  int k;
  int64_t n = 0;
  int chunks = 1;
  std::vector<float> dist;
  std::vector<int64_t> index;

  void begin(int64_t rows, int c) {
    n = rows;
    chunks = c;
    dist.assign(static_cast<size_t>(n * c * k), std::numeric_limits<float>::infinity());
    index.assign(static_cast<size_t>(n * c * k), -1);
  }
  void tile(int chunk, int64_t row0, int rows, int64_t col0, int cols, const float* dots) {
    alignas(64) float d[NR];
    for (int r = 0; r < rows; ++r) {
      VF d0, d1;
      squaredDistances(dots, r, xnorm + row0, yn + col0, d0, d1);
      const size_t base = static_cast<size_t>((chunk * n + row0 + r) * k);
      float* best = &dist[base];
      int64_t* bestIndex = &index[base];
      if (hmin(vmin(d0, d1)) >= best[k - 1]) continue;
      storeVec(d, d0);
      storeVec(d + kFloatLanes, d1);
      for (int j = 0; j < cols; ++j) {
        if (!(d[j] < best[k - 1])) continue;
        int pos = k - 1;
        while (pos > 0 && best[pos - 1] > d[j]) {
          best[pos] = best[pos - 1];
          bestIndex[pos] = bestIndex[pos - 1];
          --pos;
        }
        best[pos] = d[j];
        bestIndex[pos] = col0 + j;
      }
    }
  }
  void finish() {}
};

// Per-(chunk, row) float64 sums merged by addition: the base of the epilogues that reduce a
// row to one sum.
struct RowSumEpilogue {
  double* out;
  int64_t n = 0;
  int chunks = 1;
  std::vector<double> partial;
  void begin(int64_t rows, int c) {
    n = rows;
    chunks = c;
    partial.assign(static_cast<size_t>(n * c), 0.0);
  }
  void finish() {
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int c = 0; c < chunks; ++c) s += partial[c * n + i];
      out[i] = s;
    }
  }
};

// sum_j dot_ij^2.
struct SquaredNormEpilogue : RowSumEpilogue {
  void tile(int chunk, int64_t row0, int rows, int64_t, int, const float* dots) {
    for (int r = 0; r < rows; ++r) {
      const VF p0 = loadVec<VF>(dots + r * NR), p1 = loadVec<VF>(dots + r * NR + kFloatLanes);
      partial[chunk * n + row0 + r] += hsum(p0 * p0 + p1 * p1);
    }
  }
};

// sum_j w_j exp(-gamma d_ij) with the exponential and the sum in float64 (float32 exponentials
// would miss the 1e-8 relative bound of tolerances.h: decision values are small differences of
// large sums). The tile's weights and -gamma are loaded once per tile; each row's squared
// distances are widened to float64 in registers and fed to the vector exponential.
struct WeightedSumEpilogue : RowSumEpilogue {
  typedef float HalfVF __attribute__((vector_size(kVectorBytes / 2)));
  static constexpr int kParts = NR / kDoubleLanes;  // float64 vectors per row of a tile
  static_assert(kParts == 4, "a tile row is two float vectors, four float64 vectors");
  const float* xnorm;
  const float* yn;
  const double* w;  // padded with zeros
  double gamma;
  void tile(int chunk, int64_t row0, int rows, int64_t col0, int, const float* dots) {
    VD wv[kParts];
    for (int c = 0; c < kParts; ++c) wv[c] = loadVec<VD>(w + col0 + c * kDoubleLanes);
    const VD ng = splat<VD>(-gamma);
    for (int r = 0; r < rows; ++r) {
      VF d0, d1;
      squaredDistances(dots, r, xnorm + row0, yn + col0, d0, d1);
      VD acc0 = wv[0] * vexpd(ng * widen<0>(d0));
      VD acc1 = wv[1] * vexpd(ng * widen<1>(d0));
      acc0 += wv[2] * vexpd(ng * widen<0>(d1));
      acc1 += wv[3] * vexpd(ng * widen<1>(d1));
      const VD acc = acc0 + acc1;
      double s = 0;
      for (int k = 0; k < kDoubleLanes; ++k) s += acc[k];
      partial[chunk * n + row0 + r] += s;
    }
  }
  // Half `H` of a float vector, converted to float64.
  template <int H>
  static VD widen(VF v) {
    HalfVF h;
    std::memcpy(&h, reinterpret_cast<const char*>(&v) + H * sizeof(HalfVF), sizeof(HalfVF));
    return __builtin_convertvector(h, VD);
  }
};

struct KernelRowsEpilogue {
  const float* xnorm;
  const float* yn;
  float gamma;
  float* out;
  int64_t m;
  void begin(int64_t, int) {}
  void tile(int, int64_t row0, int rows, int64_t col0, int cols, const float* dots) {
    alignas(64) float v[NR];
    for (int r = 0; r < rows; ++r) {
      VF d0, d1;
      squaredDistances(dots, r, xnorm + row0, yn + col0, d0, d1);
      float* dst = out + (row0 + r) * m + col0;
      if (cols == NR) {  // straight to the row (a copy through v was a library call per tile row)
        storeVec(dst, vexp(-gamma * d0));
        storeVec(dst + kFloatLanes, vexp(-gamma * d1));
        continue;
      }
      storeVec(v, vexp(-gamma * d0));
      storeVec(v + kFloatLanes, vexp(-gamma * d1));
      for (int j = 0; j < cols; ++j) dst[j] = v[j];
    }
  }
  void finish() {}
};

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }

  std::unique_ptr<PointSet> prepare(const float* rows, int64_t m, int64_t d, const RowTransform& t,
                                    bool transformRows) override {
    return std::make_unique<CpuPointSet>(rows, m, d, t, transformRows, defaultThreads());
  }

  void kernelLogSum(const PointSet& refBase, const float* x, int64_t n, double gamma, const double* weights,
                    double* out, const ExecOptions& exec) override {
    const CpuPointSet& ref = asCpu(refBase);
    const int threads = resolveThreads(exec.threads);
    std::vector<float> logw(ref.sqnorm.size(), kNoContribution);
    for (int64_t j = 0; j < ref.rows(); ++j) {
      double w = weights ? weights[j] : 1.0;
      logw[j] = w > 0 ? static_cast<float>(std::log(w)) : kNoContribution;
    }
    forEachSuperblock(ref, x, n, threads, [&](const float* a, const float* xnorm, int64_t count, int64_t offset) {
      LogSumEpilogue epi{xnorm, ref.sqnorm.data(), logw.data(), static_cast<float>(gamma), out + offset};
      runDotEngine(ref.packed, a, count, epi, threads);
    });
  }

  void nearest(const PointSet& refBase, const float* x, int64_t n, int k, double* distance, int64_t* index,
               const ExecOptions& exec) override {
    const CpuPointSet& ref = asCpu(refBase);
    const int threads = resolveThreads(exec.threads);
    const int64_t d = ref.cols();
    forEachSuperblock(ref, x, n, threads, [&](const float* a, const float* xnorm, int64_t count, int64_t offset) {
      NearestEpilogue epi{xnorm, ref.sqnorm.data(), k};
      runDotEngine(ref.packed, a, count, epi, threads);
      // Merge the chunks' candidates, then rank them by exact float64 distances.
      parallelFor(count, threads, [&](int64_t i, int) {
        std::vector<std::pair<double, int64_t>> cand;
        cand.reserve(static_cast<size_t>(k * epi.chunks));
        for (int c = 0; c < epi.chunks; ++c)
          for (int t = 0; t < k; ++t) {
            int64_t j = epi.index[(c * count + i) * k + t];
            if (j < 0) continue;
            const double s =
                exactDistance(ref.transform(), a + i * d, [&](int64_t q) { return ref.packed.at(j, q); }, d);
            cand.emplace_back(s, j);
          }
        std::sort(cand.begin(), cand.end());
        for (int t = 0; t < k; ++t) {
          distance[(offset + i) * k + t] = cand[t].first;
          index[(offset + i) * k + t] = cand[t].second;
        }
      });
    });
  }

  void projectedSquaredNorm(const PointSet& refBase, const float* x, int64_t n, double* out,
                            const ExecOptions& exec) override {
    const CpuPointSet& ref = asCpu(refBase);
    const int threads = resolveThreads(exec.threads);
    forEachSuperblock(ref, x, n, threads, [&](const float* a, const float*, int64_t count, int64_t offset) {
      SquaredNormEpilogue epi;
      epi.out = out + offset;
      runDotEngine(ref.packed, a, count, epi, threads);
    });
  }

  void kernelWeightedSum(const PointSet& refBase, const float* x, int64_t n, double gamma, const double* weights,
                         double* out, const ExecOptions& exec) override {
    const CpuPointSet& ref = asCpu(refBase);
    const int threads = resolveThreads(exec.threads);
    std::vector<double> w(ref.sqnorm.size(), 0.0);
    std::copy(weights, weights + ref.rows(), w.begin());
    forEachSuperblock(ref, x, n, threads, [&](const float* a, const float* xnorm, int64_t count, int64_t offset) {
      WeightedSumEpilogue epi;
      epi.out = out + offset;
      epi.xnorm = xnorm;
      epi.yn = ref.sqnorm.data();
      epi.w = w.data();
      epi.gamma = gamma;
      runDotEngine(ref.packed, a, count, epi, threads);
    });
  }

  void kernelRows(const PointSet& refBase, const float* x, int64_t n, double gamma, float* out, const ExecOptions& exec,
                  int64_t cols) override {
    const CpuPointSet& ref = asCpu(refBase);
    const int threads = resolveThreads(exec.threads);
    forEachSuperblock(ref, x, n, threads, [&](const float* a, const float* xnorm, int64_t count, int64_t offset) {
      KernelRowsEpilogue epi{xnorm, ref.sqnorm.data(), static_cast<float>(gamma), out + offset * ref.rows(),
                             ref.rows()};
      runDotEngine(ref.packed, a, count, epi, threads, cols);
    });
  }

  void upsample(const HeatmapPlan& plan, const float* grids, int64_t batch, float* out,
                const ExecOptions& exec) override {
    applyHeatmapPlan(plan, grids, batch, out, resolveThreads(exec.threads));
  }

  KCenterResult kCenterGreedy(const float* x, int64_t n, int64_t d, const double* projection,
                              const KCenterOptions& options, Progress* progress) override {
    return ::ONECLASS_CPU_NAMESPACE::kCenterGreedy(x, n, d, projection, options, progress);
  }

  void positionalMoments(const float* x, int64_t images, int64_t positions, int64_t dim, double* mean,
                         double* covariance, const ExecOptions& exec) override {
    ::ONECLASS_CPU_NAMESPACE::positionalMoments(x, images, positions, dim, mean, covariance,
                                                resolveThreads(exec.threads));
  }

  std::unique_ptr<PositionalSet> createPositionalSet(int64_t positions, int64_t dim) override {
    return makePositionalSet(positions, dim);
  }

  void positionalSquaredMahalanobis(const PositionalSet& set, const float* x, int64_t images, double* out,
                                    const ExecOptions& exec) override {
    ::ONECLASS_CPU_NAMESPACE::positionalSquaredMahalanobis(set, x, images, out, resolveThreads(exec.threads));
  }
};

}  // namespace

// This level's entry points, looked up by cpu_dispatch.cpp.
Backend& backend() {
  static CpuBackend backend;
  return backend;
}

const char* simd() {
#if ONECLASS_SIMD_AVX512
  return "avx512";
#elif defined(ONECLASS_CPU_LEVEL) && ONECLASS_CPU_LEVEL == 1
  return "avx2";
#elif defined(__AVX2__)
  return "avx2";
#elif ONECLASS_SIMD_AVX
  return "avx";
#elif defined(__ARM_NEON)
  return "neon";
#elif defined(__SSE4_2__)
  return "sse4.2";
#else
  return "sse2";
#endif
}

}  // namespace ONECLASS_CPU_NAMESPACE
