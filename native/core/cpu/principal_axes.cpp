// Principal axes (principal_axes.h): the covariance by the float64 Gram product of the dot engine,
// its eigenvectors by cyclic Jacobi rotations (d is at most a few hundred here, so O(d^3) per
// sweep is milliseconds and no LAPACK is needed).
#include "principal_axes.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "gram.h"

namespace oneclass::cpu {

std::vector<double> symmetricEigenvectors(std::vector<double> a, int64_t d) {
  std::vector<double> v(static_cast<size_t>(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i) v[i * d + i] = 1.0;
  for (int sweep = 0; sweep < 60; ++sweep) {
    double off = 0, diag = 0;
    for (int64_t i = 0; i < d; ++i) {
      diag += a[i * d + i] * a[i * d + i];
      for (int64_t j = i + 1; j < d; ++j) off += a[i * d + j] * a[i * d + j];
    }
    if (off <= 1e-30 * diag || off == 0) break;
    for (int64_t p = 0; p < d; ++p)
      for (int64_t q = p + 1; q < d; ++q) {
        const double apq = a[p * d + q];
        if (apq == 0) continue;
        // The rotation in the (p, q) plane that zeroes a[p][q].
        const double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < d; ++k) {  // columns p and q
          const double akp = a[k * d + p], akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < d; ++k) {  // rows p and q
          const double apk = a[p * d + k], aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < d; ++k) {
          const double vkp = v[k * d + p], vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
  }
  std::vector<int64_t> order(static_cast<size_t>(d));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return a[i * d + i] > a[j * d + j]; });
  std::vector<double> sorted(static_cast<size_t>(d * d));
  for (int64_t k = 0; k < d; ++k)
    for (int64_t j = 0; j < d; ++j) sorted[k * d + j] = v[k * d + order[j]];
  return sorted;
}

std::vector<double> principalAxes(const double* rows, int64_t m, int64_t d, int threads) {
  std::vector<double> mean(static_cast<size_t>(d), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t k = 0; k < d; ++k) mean[k] += rows[i * d + k];
  for (double& v : mean) v /= static_cast<double>(std::max<int64_t>(1, m));
  std::vector<double> centredT(static_cast<size_t>(d * m));  // d x m
  for (int64_t i = 0; i < m; ++i)
    for (int64_t k = 0; k < d; ++k) centredT[k * m + i] = rows[i * d + k] - mean[k];
  std::vector<double> cov(static_cast<size_t>(d * d), 0.0);
  addGramOfRows(centredT.data(), d, m, cov.data(), threads);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < i; ++j) cov[j * d + i] = cov[i * d + j];
  return symmetricEigenvectors(std::move(cov), d);
}

}  // namespace oneclass::cpu
