// The per-position Gaussian's checks, regularization and factoring (positional_gaussian.h); the
// O(images x positions x dim^2) moments and the scoring run on a backend.
#include "oneclass/positional_gaussian.h"

#include <cmath>
#include <string>
#include <vector>

#include "oneclass/errors.h"
#include "oneclass/gaussian.h"
#include "oneclass/parallel.h"

namespace oneclass {
namespace {

// Positions factored at once: bounds the float64 L^-1 scratch to kBatch x dim x dim.
constexpr int64_t kBatch = 16;

void requireShape(int64_t images, int64_t positions, int64_t dim, int64_t minImages) {
  require(images >= minImages, "the per-position Gaussian needs at least " + std::to_string(minImages) +
                                   " images, received " + std::to_string(images));
  require(positions >= 1, "the per-position Gaussian needs at least one position, received 0");
  require(dim >= 1 && dim <= (1 << 14), "feature dimension must be in [1, 16384], received " + std::to_string(dim));
}

// InvalidArgument naming the image, position and dimension of the first NaN or Infinity.
void requireFiniteFeatures(const float* x, int64_t images, int64_t positions, int64_t dim) {
  const int64_t total = images * positions * dim;
  for (int64_t i = 0; i < total; ++i) {
    if (!std::isfinite(x[i])) {
      const int64_t row = i / dim;
      fail(ErrorCode::InvalidArgument,
           "features of image " + std::to_string(row / positions) + " at position " + std::to_string(row % positions) +
               " contain " + (std::isnan(x[i]) ? "NaN" : "Infinity") + " (dimension " + std::to_string(i % dim) + ")");
    }
  }
}

std::unique_ptr<PositionalSet> factorPositions(Backend& backend, const double* mean, const double* covariance,
                                               int64_t positions, int64_t dim, int threads, double* logDet) {
  std::unique_ptr<PositionalSet> set = backend.createPositionalSet(positions, dim);
  const int64_t dd = dim * dim;
  std::vector<double> inverse(static_cast<size_t>(std::min(kBatch, positions) * dd));
  for (int64_t p0 = 0; p0 < positions; p0 += kBatch) {
    const int64_t count = std::min(kBatch, positions - p0);
    std::vector<char> singular(static_cast<size_t>(count), 0);
    parallelFor(count, threads, [&](int64_t i, int) {
      const int64_t p = p0 + i;
      GaussianFit fit;
      fit.dim = dim;
      fit.covariance.assign(covariance + p * dd, covariance + (p + 1) * dd);
      try {
        factorGaussian(fit);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::NumericalError) throw;
        singular[i] = 1;
        return;
      }
      logDet[p] = fit.logDet;
      std::copy(fit.choleskyInverse.begin(), fit.choleskyInverse.end(), inverse.begin() + i * dd);
    });
    // The first such position, whichever thread met it first.
    for (int64_t i = 0; i < count; ++i)
      if (singular[i])
        fail(ErrorCode::NumericalError, "the covariance at position " + std::to_string(p0 + i) +
                                            " is not positive definite (constant features, or fewer images than "
                                            "dimensions); use a larger regularization");
    set->load(p0, count, mean + p0 * dim, inverse.data());
  }
  return set;
}

}  // namespace

int64_t positionalGaussianBytes(int64_t positions, int64_t dim, int threads) {
  const int64_t dd = dim * dim;
  const int64_t covariance = positions * dd * 8;
  const int64_t factors = positions * (dim + 16) * dim * 4;  // float32 panels, padded to whole panels
  const int64_t means = positions * dim * 8 * 2 + positions * 8;
  const int64_t scratch = (kBatch + 2 * std::max(1, threads)) * dd * 8;  // L^-1 batch, per-thread factoring
  return covariance + factors + means + scratch;
}

std::unique_ptr<PositionalSet> fitPositionalGaussian(Backend& backend, const float* x, int64_t images,
                                                     int64_t positions, int64_t dim,
                                                     const PositionalGaussianOptions& options, double* mean,
                                                     double* covariance, double* logDet) {
  requireShape(images, positions, dim, 2);
  require(std::isfinite(options.regularization) && options.regularization >= 0,
          "regularization must be a finite number >= 0");
  requireFiniteFeatures(x, images, positions, dim);
  ExecOptions exec;
  exec.threads = options.threads;
  backend.positionalMoments(x, images, positions, dim, mean, covariance, exec);
  for (int64_t p = 0; p < positions; ++p)
    for (int64_t k = 0; k < dim; ++k) covariance[(p * dim + k) * dim + k] += options.regularization;
  return factorPositions(backend, mean, covariance, positions, dim, resolveThreads(options.threads), logDet);
}

std::unique_ptr<PositionalSet> preparePositionalGaussian(Backend& backend, const double* mean, const double* covariance,
                                                         int64_t positions, int64_t dim, int threads, double* logDet) {
  requireShape(1, positions, dim, 1);
  return factorPositions(backend, mean, covariance, positions, dim, resolveThreads(threads), logDet);
}

void scorePositionalGaussian(Backend& backend, const PositionalSet& set, const float* x, int64_t images, double* out,
                             const ExecOptions& exec) {
  require(images >= 0, "images must be >= 0");
  requireFiniteFeatures(x, images, set.positions(), set.dim());
  backend.positionalSquaredMahalanobis(set, x, images, out, exec);
}

}  // namespace oneclass
