// Test-only reference for the one-class SVM: the RBF kernel from exact float differences
// accumulated in double (no |a|^2 + |b|^2 - 2ab expansion), as a KernelRowSource for the solver
// and as a decision function. The backends' GEMM-based kernel rows are checked against it.
#pragma once
#include <cstdint>
#include <vector>

#include "oneclass/ocsvm.h"

namespace oneclass::ocsvm {

// K(a, b) = exp(-gamma |a - b|^2) on a row-major float matrix (l x d), rounded to float. Rows
// are computed in parallel with parallelFor. The matrix is read in place and must outlive the
// source.
class RbfKernelSource : public KernelRowSource {
 public:
  RbfKernelSource(const float* x, int64_t l, int64_t d, double gamma, int threads = 0);
  int64_t size() const override { return l_; }
  void computeRows(const int64_t* rows, int count, float* out) override;
  double diag(int64_t) const override { return 1.0; }
  bool computeAmong(const int64_t* rows, int count, int r0, int r1, float* out) override;

 private:
  const float* x_;
  int64_t l_, d_;
  double gamma_;
  int threads_;
};

// f(y) = sum_i alpha_i K(x_i, y) - rho for each of the m rows of y (m x d), in double, with the
// same exact-difference RBF as RbfKernelSource.
std::vector<double> decisionFunctionRbf(const float* x, int64_t l, int64_t d, double gamma,
                                        const std::vector<double>& alpha, double rho, const float* y, int64_t m,
                                        int threads = 0);

}  // namespace oneclass::ocsvm
