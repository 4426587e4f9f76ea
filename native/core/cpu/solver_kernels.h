// The OC-SVM solver's element-wise loops over a kernel row (ocsvm/solver.cpp, ocsvm/row_cache.cpp),
// compiled once per CPU level (solver_cpu.cpp); solverKernels() returns the chosen level's
// (cpu_dispatch.cpp). Compiled for the baseline with the rest of the solver, they made the OC-SVM
// fit 4-8 % slower than a -march=native build (M = 5000, bench/cpu-dispatch.mjs).
#pragma once
#include <cstdint>

namespace oneclass::cpu {

struct SolverKernels {
  // y[k] += a * x[k] for k in [0, n).
  void (*addScaled)(double* y, const float* x, double a, int64_t n);
  // G[k] += Qi[k] * dai + Qj[k] * daj for k in [k0, k1).
  void (*updatePair)(double* G, const float* Qi, const float* Qj, double dai, double daj, int64_t k0, int64_t k1);
  // The same for k = act[t], t in [t0, t1).
  void (*updatePairAt)(double* G, const int32_t* act, const float* Qi, const float* Qj, double dai, double daj,
                       int64_t t0, int64_t t1);
  // Copies the lower triangle of the l x l row-major matrix onto its upper triangle.
  void (*mirrorLower)(float* out, int64_t l);
};

// The chosen CPU level's kernels (fails with BackendUnavailable as cpuBackend() does).
const SolverKernels& solverKernels();

}  // namespace oneclass::cpu
