// Principal axes of a sample of rows: the eigenvectors of their float64 covariance.
#pragma once
#include <cstdint>
#include <vector>

namespace oneclass::cpu {

// Eigen-decomposition of the symmetric d x d matrix a (row-major; destroyed) by cyclic Jacobi
// rotations: returns V (d x d, row-major) whose columns are orthonormal eigenvectors, ordered by
// eigenvalue, largest first. V is orthogonal to float64 precision whatever the convergence.
std::vector<double> symmetricEigenvectors(std::vector<double> a, int64_t d);

// V of the covariance of m rows (m x d, float64, row-major).
std::vector<double> principalAxes(const double* rows, int64_t m, int64_t d, int threads);

}  // namespace oneclass::cpu
