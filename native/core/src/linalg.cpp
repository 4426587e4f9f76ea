#include "oneclass/linalg.h"

#include <cmath>
#include <string>

#include "../cpu/gram.h"
#include "oneclass/errors.h"
#include "oneclass/parallel.h"

namespace oneclass {

void meanAndCovariance(const float* x, int64_t n, int64_t d, double* mean, double* covariance, int threads) {
  for (int64_t k = 0; k < d; ++k) mean[k] = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) mean[k] += x[i * d + k];
  for (int64_t k = 0; k < d; ++k) mean[k] /= static_cast<double>(n);
  // Centred data transposed (d x n), so the covariance is a Gram product of its rows.
  std::vector<double> centredT(static_cast<size_t>(d * n));
  parallelFor(d, threads, [&](int64_t k, int) {
    for (int64_t i = 0; i < n; ++i) centredT[k * n + i] = static_cast<double>(x[i * d + k]) - mean[k];
  });
  cpu::gramOfRows(centredT.data(), d, n, covariance, threads);
  for (int64_t k = 0; k < d * d; ++k) covariance[k] /= static_cast<double>(n);
}

double ledoitWolfShrinkage(const float* x, int64_t n, int64_t d, const double* mean, const double* covariance) {
  if (d == 1) return 0.0;
  // beta_ = sum(X2^T X2) = sum_i |x_i|^4 and delta_ / n^2 = sum(emp_cov^2), on centred rows.
  double beta_ = 0, trace = 0, delta_ = 0;
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t k = 0; k < d; ++k) {
      double v = static_cast<double>(x[i * d + k]) - mean[k];
      s += v * v;
    }
    beta_ += s * s;
  }
  for (int64_t k = 0; k < d; ++k) trace += covariance[k * d + k];
  for (int64_t k = 0; k < d * d; ++k) delta_ += covariance[k] * covariance[k];
  const double nd = static_cast<double>(n), dd = static_cast<double>(d);
  const double mu = trace / dd;
  double beta = 1.0 / (dd * nd) * (beta_ / nd - delta_);
  double delta = (delta_ - 2.0 * mu * trace + dd * mu * mu) / dd;
  beta = std::min(beta, delta);
  return beta == 0 ? 0.0 : beta / delta;
}

bool choleskyLower(double* a, int64_t d) {
  for (int64_t j = 0; j < d; ++j) {
    double diag = a[j * d + j];
    for (int64_t k = 0; k < j; ++k) diag -= a[j * d + k] * a[j * d + k];
    if (!(diag > 0) || !std::isfinite(diag)) return false;
    const double ljj = std::sqrt(diag);
    a[j * d + j] = ljj;
    for (int64_t i = j + 1; i < d; ++i) {
      double s = a[i * d + j];
      const double* ri = a + i * d;
      const double* rj = a + j * d;
      for (int64_t k = 0; k < j; ++k) s -= ri[k] * rj[k];
      a[i * d + j] = s / ljj;
    }
  }
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = i + 1; j < d; ++j) a[i * d + j] = 0;
  return true;
}

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
  // L^-1 by forward substitution, one column of the identity at a time.
  fit.choleskyInverse.assign(static_cast<size_t>(d * d), 0.0);
  parallelFor(d, defaultThreads(), [&](int64_t c, int) {
    for (int64_t i = c; i < d; ++i) {
      double s = i == c ? 1.0 : 0.0;
      for (int64_t k = c; k < i; ++k) s -= l[i * d + k] * fit.choleskyInverse[k * d + c];
      fit.choleskyInverse[i * d + c] = s / l[i * d + i];
    }
  });
}

GaussianFit fitGaussian(const float* x, int64_t n, int64_t d, ShrinkageKind kind, double shrinkage, double regCovar,
                        int threads) {
  GaussianFit fit;
  fit.dim = d;
  fit.mean.assign(static_cast<size_t>(d), 0.0);
  fit.covariance.assign(static_cast<size_t>(d * d), 0.0);
  meanAndCovariance(x, n, d, fit.mean.data(), fit.covariance.data(), threads);
  if (kind == ShrinkageKind::LedoitWolf) shrinkage = ledoitWolfShrinkage(x, n, d, fit.mean.data(), fit.covariance.data());
  if (kind == ShrinkageKind::None) shrinkage = 0;
  fit.shrinkage = shrinkage;
  if (shrinkage != 0) {
    double mu = 0;
    for (int64_t k = 0; k < d; ++k) mu += fit.covariance[k * d + k];
    mu /= static_cast<double>(d);
    for (int64_t k = 0; k < d * d; ++k) fit.covariance[k] *= 1.0 - shrinkage;
    for (int64_t k = 0; k < d; ++k) fit.covariance[k * d + k] += shrinkage * mu;
  }
  for (int64_t k = 0; k < d; ++k) fit.covariance[k * d + k] += regCovar;
  factorGaussian(fit);
  return fit;
}

}  // namespace oneclass
