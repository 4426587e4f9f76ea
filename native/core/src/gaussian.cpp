#include "oneclass/gaussian.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "../cpu/gaussian_kernels.h"
#include "oneclass/errors.h"
#include "oneclass/parallel.h"
#include "oneclass/transform.h"

namespace oneclass {

// The dense float64 work runs at the CPU level chosen at load (cpu/gaussian_cpu.cpp).

void meanAndCovariance(const float* x, int64_t n, int64_t d, double* mean, double* covariance, int threads) {
  cpu::gaussianKernels().meanAndCovariance(x, n, d, mean, covariance, threads);
}

double ledoitWolfShrinkage(const float* x, int64_t n, int64_t d, const double* mean, const double* covariance,
                           int threads) {
  return cpu::gaussianKernels().ledoitWolfShrinkage(x, n, d, mean, covariance, resolveThreads(threads));
}

bool choleskyLower(double* a, int64_t d) { return cpu::gaussianKernels().choleskyLower(a, d); }

void factorGaussian(GaussianFit& fit) {
  const int64_t d = fit.dim;
  std::vector<double> l = fit.covariance;
  if (!choleskyLower(l.data(), d)) {
    fail(ErrorCode::NumericalError,
         "the covariance matrix is not positive definite (fewer samples than dimensions, or constant "
         "features); use shrinkage 'ledoit-wolf' or a larger regCovar");
  }
  fit.logDet = 0;
  for (int64_t k = 0; k < d; ++k) fit.logDet += 2.0 * std::log(l[k * d + k]);
  fit.choleskyInverse.assign(static_cast<size_t>(d * d), 0.0);
  cpu::gaussianKernels().lowerInverse(l.data(), d, fit.choleskyInverse.data());
}

GaussianFit fitGaussian(const float* x, int64_t n, int64_t d, const GaussianOptions& options) {
  const int threads = resolveThreads(options.threads);
  std::vector<float> normalized;
  if (options.l2normalize) {
    normalized.resize(static_cast<size_t>(n * d));
    RowTransform t;
    t.l2normalize = true;
    applyTransform(t, x, n, d, normalized.data(), nullptr, threads);
    x = normalized.data();
  }
  GaussianFit fit;
  fit.dim = d;
  fit.mean.assign(static_cast<size_t>(d), 0.0);
  fit.covariance.assign(static_cast<size_t>(d * d), 0.0);
  meanAndCovariance(x, n, d, fit.mean.data(), fit.covariance.data(), threads);
  double shrinkage = 0;
  if (options.kind == ShrinkageKind::LedoitWolf)
    shrinkage = ledoitWolfShrinkage(x, n, d, fit.mean.data(), fit.covariance.data(), threads);
  if (options.kind == ShrinkageKind::Fixed) shrinkage = options.shrinkage;
  fit.shrinkage = shrinkage;
  if (shrinkage != 0) {
    double mu = 0;
    for (int64_t k = 0; k < d; ++k) mu += fit.covariance[k * d + k];
    mu /= static_cast<double>(d);
    for (int64_t k = 0; k < d * d; ++k) fit.covariance[k] *= 1.0 - shrinkage;
    for (int64_t k = 0; k < d; ++k) fit.covariance[k * d + k] += shrinkage * mu;
  }
  for (int64_t k = 0; k < d; ++k) fit.covariance[k * d + k] += options.regCovar;
  factorGaussian(fit);
  return fit;
}

}  // namespace oneclass
