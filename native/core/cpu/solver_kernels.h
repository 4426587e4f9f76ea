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
  // WSS 2's choice of i over all l variables: the k with status[k] != skip and the largest -G[k],
  // ties to the larger k (libsvm's ">=" loop). Writes that -G[k] to gmax; -1 when there is none.
  int64_t (*selectMaxNegG)(const double* G, const uint8_t* status, uint8_t skip, int64_t l, double& gmax);
  // WSS 2's choice of j once i is chosen, over all l variables with status[k] != skip: gmax2 =
  // the largest G[k]; among those with gmax + G[k] > 0, the smallest -(gmax + G[k])^2 / quad_k
  // (quad_k = qdi + QD[k] - 2 Qi[k], tau where that is not positive), ties to the larger k,
  // written to objDiffMin. Returns that k, or -1. Each value is computed with the same operations
  // in the same order as the solver's scalar loop, so both pick the same pair.
  int64_t (*selectMinObjDiff)(const double* G, const uint8_t* status, uint8_t skip, const double* QD, const float* Qi,
                              int64_t l, double gmax, double qdi, double tau, double& gmax2, double& objDiffMin);
};

// The chosen CPU level's kernels (fails with BackendUnavailable as cpuBackend() does).
const SolverKernels& solverKernels();

}  // namespace oneclass::cpu
