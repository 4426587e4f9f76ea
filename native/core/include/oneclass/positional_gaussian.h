// A Gaussian per position of a feature grid (PaDiM, Defard et al. 2021): for every position p of
// images x positions x dim features, the mean and covariance of the training images' features at
// p, accumulated in float64, regularized as PaDiM does (unbiased covariance + regularization * I,
// default 0.01), factored by Cholesky (covariance = L L^T). Scores are squared Mahalanobis
// distances |L_p^-1 (x - mean_p)|^2 of every (image, position) feature, batched over positions on
// a backend (float32 products of the float64 factors, as the Gaussian density scores).
//
// Memory is positions x dim x dim: the covariance (float64, what a model stores) and the packed
// float32 factors; positionalGaussianBytes says how much, and callers refuse sizes over their
// limit before allocating (requireMemory, errors.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "oneclass/backend.h"

namespace oneclass {

// Per-position whitening factors prepared on a backend (packed for the CPU kernels, or uploaded).
class PositionalSet {
 public:
  virtual ~PositionalSet() = default;
  int64_t positions() const { return positions_; }
  int64_t dim() const { return dim_; }
  // Stores positions [p0, p0 + count): mean (count x dim) and the lower triangular L^-1
  // (count x dim x dim), both float64.
  virtual void load(int64_t p0, int64_t count, const double* mean, const double* choleskyInverse) = 0;

 protected:
  PositionalSet(int64_t positions, int64_t dim) : positions_(positions), dim_(dim) {}
  int64_t positions_, dim_;
};

struct PositionalGaussianOptions {
  double regularization = 0.01;  // added to every covariance's diagonal (PaDiM's 0.01 I)
  int threads = 0;               // CPU threads; 0 = every hardware thread
};

// Bytes a fit (or a restored model) allocates for positions x dim statistics: the float64
// covariance, the float32 factors the backend keeps, the float64 means and the factoring scratch.
int64_t positionalGaussianBytes(int64_t positions, int64_t dim, int threads);

// Fits on x = images x positions x dim (images >= 2; NaN/Infinity named by image, position and
// dim). Writes mean (positions x dim), the regularized covariance (positions x dim x dim) and
// logDet (positions) into the caller's arrays; returns the backend's factors for scoring.
// Throws NumericalError naming the position when a covariance is not positive definite.
std::unique_ptr<PositionalSet> fitPositionalGaussian(Backend& backend, const float* x, int64_t images,
                                                     int64_t positions, int64_t dim,
                                                     const PositionalGaussianOptions& options, double* mean,
                                                     double* covariance, double* logDet);

// The factors of stored statistics (a restored model): covariance already regularized.
std::unique_ptr<PositionalSet> preparePositionalGaussian(Backend& backend, const double* mean, const double* covariance,
                                                         int64_t positions, int64_t dim, int threads, double* logDet);

// Squared Mahalanobis distances out[i * positions + p] of x = images x positions x dim.
void scorePositionalGaussian(Backend& backend, const PositionalSet& set, const float* x, int64_t images, double* out,
                             const ExecOptions& exec);

}  // namespace oneclass
