// The OC-SVM solver's element-wise loops at one CPU level (solver_kernels.h). Plain loops: the
// level's instruction set is what makes them faster (float-to-double conversion and multiply-add
// four doubles at a time with AVX2 instead of two).
#include "solver_kernels.h"

namespace ONECLASS_CPU_NAMESPACE {
namespace {

void addScaled(double* y, const float* x, double a, int64_t n) {
  for (int64_t k = 0; k < n; ++k) y[k] += a * double(x[k]);
}

void updatePair(double* G, const float* Qi, const float* Qj, double dai, double daj, int64_t k0, int64_t k1) {
  for (int64_t k = k0; k < k1; ++k) G[k] += double(Qi[k]) * dai + double(Qj[k]) * daj;
}

void updatePairAt(double* G, const int32_t* act, const float* Qi, const float* Qj, double dai, double daj, int64_t t0,
                  int64_t t1) {
  for (int64_t t = t0; t < t1; ++t) {
    const int32_t k = act[t];
    G[k] += double(Qi[k]) * dai + double(Qj[k]) * daj;
  }
}

// In 64 x 64 tiles, so both the rows read and the rows written stay in cache.
void mirrorLower(float* out, int64_t l) {
  constexpr int64_t T = 64;
  for (int64_t i0 = 0; i0 < l; i0 += T)
    for (int64_t j0 = i0; j0 < l; j0 += T)
      for (int64_t i = i0; i < std::min(l, i0 + T); ++i)
        for (int64_t j = std::max(j0, i + 1); j < std::min(l, j0 + T); ++j)
          out[size_t(i) * size_t(l) + size_t(j)] = out[size_t(j) * size_t(l) + size_t(i)];
}

constexpr SolverKernels kKernels = {&addScaled, &updatePair, &updatePairAt, &mirrorLower};

}  // namespace

const SolverKernels& solverKernels() { return kKernels; }

}  // namespace ONECLASS_CPU_NAMESPACE
