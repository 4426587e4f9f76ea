// The Gaussian density's dense float64 work (oneclass/gaussian.h): moments, Ledoit-Wolf's
// shrinkage, the Cholesky factor and its inverse. Compiled once per CPU level (gaussian_cpu.cpp);
// gaussianKernels() returns the chosen level's (cpu_dispatch.cpp), gaussianKernelsAt() one level's
// (oneclass/cpu_dispatch.h, for the tests). Compiled for the baseline like the rest of the core,
// the D x D factorization and inverse of a 512-dimensional fit took 6 to 8% of the fit's time
// more than with -march=native (bench/cpu-dispatch.mjs).
#pragma once
#include <cstdint>

namespace oneclass::cpu {

struct GaussianKernels {
  // Biased mean and covariance of n rows of dimension d (oneclass::meanAndCovariance).
  void (*meanAndCovariance)(const float* x, int64_t n, int64_t d, double* mean, double* covariance, int threads);
  // scikit-learn's ledoit_wolf_shrinkage from the rows, their mean and biased covariance.
  double (*ledoitWolfShrinkage)(const float* x, int64_t n, int64_t d, const double* mean, const double* covariance,
                                int threads);
  // Lower Cholesky factor of a (d x d) in place, upper triangle zeroed; false when not positive definite.
  bool (*choleskyLower)(double* a, int64_t d);
  // inv = L^-1 (d x d, lower triangular, upper triangle zero) of a lower Cholesky factor l.
  void (*lowerInverse)(const double* l, int64_t d, double* inv);
};

// The chosen CPU level's kernels (fails with BackendUnavailable as cpuBackend() does).
const GaussianKernels& gaussianKernels();

}  // namespace oneclass::cpu
