// The Gaussian density estimator ("GDE"): mean and covariance in float64, shrunk as
// scikit-learn's LedoitWolf or ShrunkCovariance (or regularized as GaussianMixture), then its
// Cholesky factor and inverse, which scoring uses as whitening rows. The D x D problems are dense
// float64 linear algebra; the O(N D^2) covariance product runs on the CPU dot engine in float64.
// All of it runs at the CPU level chosen at load (cpu/gaussian_cpu.cpp).
#pragma once
#include <cstdint>
#include <vector>

namespace oneclass {

enum class ShrinkageKind { LedoitWolf, Fixed, None };

struct GaussianFit {
  int64_t dim = 0;
  std::vector<double> mean;             // d
  std::vector<double> covariance;       // d x d, after shrinkage and regularization
  double shrinkage = 0;                 // the coefficient used (Ledoit-Wolf's estimate or the given one)
  std::vector<double> choleskyInverse;  // L^-1 (d x d, lower triangular) with covariance = L L^T
  double logDet = 0;                    // log det covariance
};

// Biased (divide by n) mean and covariance of n rows of dimension d, accumulated in float64.
void meanAndCovariance(const float* x, int64_t n, int64_t d, double* mean, double* covariance, int threads);

// scikit-learn's ledoit_wolf_shrinkage for n centred-on-the-fly rows (threads 0: every hardware thread).
double ledoitWolfShrinkage(const float* x, int64_t n, int64_t d, const double* mean, const double* covariance,
                           int threads = 0);

struct GaussianOptions {
  ShrinkageKind kind = ShrinkageKind::LedoitWolf;
  double shrinkage = 0;      // the coefficient for ShrinkageKind::Fixed, in [0, 1]
  double regCovar = 0;       // added to the diagonal after shrinkage
  bool l2normalize = false;  // fit on the L2-normalized rows (as the detector scores them)
  int threads = 0;           // 0: every hardware thread
};

// Fits mean, shrunk covariance (+ regCovar on the diagonal), its Cholesky factor and inverse, on
// the n x d rows x (L2-normalized first when options.l2normalize; x itself is not changed).
// Throws ErrorCode::NumericalError when the covariance is not positive definite.
GaussianFit fitGaussian(const float* x, int64_t n, int64_t d, const GaussianOptions& options);

// Completes a fit from mean and covariance alone (used when a model is restored).
void factorGaussian(GaussianFit& fit);

// Lower Cholesky factor in place (upper triangle zeroed); false when not positive definite.
bool choleskyLower(double* a, int64_t d);

}  // namespace oneclass
