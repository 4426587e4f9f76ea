// The Gaussian density's dense float64 work at one CPU level (gaussian_kernels.h): column sums
// and the centred, transposed slices fed to the Gram product (the covariance), Ledoit-Wolf's sum
// of fourth powers, the Cholesky factor (dot products with independent vector accumulators) and
// its inverse (contiguous axpys). Every sum runs in a fixed order, whatever the thread count.
#include "gaussian_cpu.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "dot_engine.h"
#include "oneclass/parallel.h"
#include "simd.h"

namespace ONECLASS_CPU_NAMESPACE {
namespace {

constexpr int64_t kRowsPerBlock = 256;

// Column sums of n rows, accumulated per fixed block of rows in parallel and merged in block
// order: the result does not depend on the thread count or scheduling.
void columnSums(const float* x, int64_t n, int64_t d, double* out, int threads) {
  const int64_t blocks = (n + kRowsPerBlock - 1) / kRowsPerBlock;
  std::vector<double> partial(static_cast<size_t>(blocks * d), 0.0);
  parallelFor(blocks, threads, [&](int64_t b, int) {
    double* p = partial.data() + b * d;
    for (int64_t i = b * kRowsPerBlock; i < std::min(n, (b + 1) * kRowsPerBlock); ++i)
      for (int64_t k = 0; k < d; ++k) p[k] += x[i * d + k];
  });
  for (int64_t k = 0; k < d; ++k) out[k] = 0;
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t k = 0; k < d; ++k) out[k] += partial[b * d + k];
}

// Dot product with independent vector accumulators (a plain loop is one serial dependency
// chain, since the compiler may not reorder a floating-point reduction).
double dot(const double* a, const double* b, int64_t n) {
  using V = Simd<double>::V;
  constexpr int L = Simd<double>::kLanes;
  V acc0{}, acc1{};
  int64_t k = 0;
  for (; k + 2 * L <= n; k += 2 * L) {
    acc0 += loadVec<V>(a + k) * loadVec<V>(b + k);
    acc1 += loadVec<V>(a + k + L) * loadVec<V>(b + k + L);
  }
  V acc = acc0 + acc1;
  double s = 0;
  for (int i = 0; i < L; ++i) s += acc[i];
  for (; k < n; ++k) s += a[k] * b[k];
  return s;
}

constexpr GaussianKernels kKernels = {&meanAndCovariance, &ledoitWolfShrinkage, &choleskyLower, &lowerInverse};

}  // namespace

void meanAndCovariance(const float* x, int64_t n, int64_t d, double* mean, double* covariance, int threads) {
  columnSums(x, n, d, mean, threads);
  for (int64_t k = 0; k < d; ++k) mean[k] /= static_cast<double>(n);
  // The covariance is a Gram product of the rows of the centred data transposed (d x n),
  // accumulated over slices of 256 samples so each slice's operands stay in cache.
  for (int64_t k = 0; k < d * d; ++k) covariance[k] = 0;
  const int64_t slice = 256;
  std::vector<double> centredT(static_cast<size_t>(d * std::min(n, slice)));
  for (int64_t s = 0; s < n; s += slice) {
    const int64_t count = std::min(slice, n - s);
    // Transposed 8 samples at a time, so each store fills a whole cache line: a column-at-a-time
    // transpose writes with a 2 KB stride, which maps every line to the same few L1 sets.
    parallelFor((d + 63) / 64, threads, [&](int64_t kb, int) {
      const int64_t k0 = kb * 64, k1 = std::min(d, k0 + 64);
      for (int64_t i0 = 0; i0 < count; i0 += 8) {
        const int64_t i1 = std::min(count, i0 + 8);
        for (int64_t k = k0; k < k1; ++k) {
          double* dst = centredT.data() + k * count;
          for (int64_t i = i0; i < i1; ++i) dst[i] = static_cast<double>(x[(s + i) * d + k]) - mean[k];
        }
      }
    });
    addGramOfRows(centredT.data(), d, count, covariance, threads);
  }
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j <= i; ++j)
      covariance[i * d + j] = covariance[j * d + i] = covariance[i * d + j] / static_cast<double>(n);
}

double ledoitWolfShrinkage(const float* x, int64_t n, int64_t d, const double* mean, const double* covariance,
                           int threads) {
  if (d == 1) return 0.0;
  // beta_ = sum(X2^T X2) = sum_i |x_i|^4 and delta_ / n^2 = sum(emp_cov^2), on centred rows.
  double beta_ = 0, trace = 0, delta_ = 0;
  const int64_t blocks = (n + kRowsPerBlock - 1) / kRowsPerBlock;
  std::vector<double> partial(static_cast<size_t>(blocks), 0.0);
  parallelFor(blocks, threads, [&](int64_t b, int) {
    double acc = 0;
    for (int64_t i = b * kRowsPerBlock; i < std::min(n, (b + 1) * kRowsPerBlock); ++i) {
      double s = 0;
      for (int64_t k = 0; k < d; ++k) {
        const double v = static_cast<double>(x[i * d + k]) - mean[k];
        s += v * v;
      }
      acc += s * s;
    }
    partial[b] = acc;
  });
  for (double p : partial) beta_ += p;
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
    const double diag = a[j * d + j] - dot(a + j * d, a + j * d, j);
    if (!(diag > 0) || !std::isfinite(diag)) return false;
    const double ljj = std::sqrt(diag);
    a[j * d + j] = ljj;
    for (int64_t i = j + 1; i < d; ++i) a[i * d + j] = (a[i * d + j] - dot(a + i * d, a + j * d, j)) / ljj;
  }
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = i + 1; j < d; ++j) a[i * d + j] = 0;
  return true;
}

void lowerInverse(const double* l, int64_t d, double* inv) {
  std::fill(inv, inv + d * d, 0.0);
  // L^-1 row by row: row i = (e_i - sum_{k<i} L[i][k] row k) / L[i][i], as contiguous axpys.
  for (int64_t i = 0; i < d; ++i) {
    double* row = inv + i * d;
    row[i] = 1.0;
    for (int64_t k = 0; k < i; ++k) {
      const double f = l[i * d + k];
      const double* rk = inv + k * d;
      for (int64_t c = 0; c <= k; ++c) row[c] -= f * rk[c];
    }
    const double scale = 1.0 / l[i * d + i];
    for (int64_t c = 0; c <= i; ++c) row[c] *= scale;
  }
}

const GaussianKernels& gaussianKernels() { return kKernels; }

}  // namespace ONECLASS_CPU_NAMESPACE
