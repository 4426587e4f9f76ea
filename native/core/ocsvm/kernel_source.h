// The kernel source fitOneClassSvm gives the solver: kernel rows computed by a backend's fused
// GEMM path (Backend::kernelRows) instead of libsvm's scalar float64 dot products.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "oneclass/backend.h"
#include "oneclass/ocsvm.h"

namespace oneclass::ocsvm {

// Kernel rows K(x_i, x_j) = exp(-gamma |T(x_i) - T(x_j)|^2) for the training rows `raw` (l x d,
// untransformed, read in place) against `set`, the same rows prepared on `backend` with the
// transform T. Rows requested together are gathered and computed as one block.
class BackendKernelSource final : public KernelRowSource {
 public:
  BackendKernelSource(Backend& backend, const PointSet& set, const float* raw, const RowTransform& transform,
                      double gamma, ExecOptions exec);
  int64_t size() const override { return set_.rows(); }
  void computeRows(const int64_t* rows, int count, float* out) override;
  double diag(int64_t) const override { return 1.0; }
  bool computeLowerBlock(int64_t row0, int64_t row1, float* out) override;
  bool computeAmong(const int64_t* rows, int count, int r0, int r1, float* out) override;

 private:
  Backend& backend_;
  const PointSet& set_;
  const float* raw_;
  const RowTransform& transform_;
  double gamma_;
  ExecOptions exec_;
  std::vector<float> gathered_;
  // computeAmong's rows, gathered and prepared once per completion (keyed by the rows array).
  const int64_t* amongKey_ = nullptr;
  int amongCount_ = 0;
  std::vector<float> among_;
  std::unique_ptr<PointSet> amongSet_;
};

}  // namespace oneclass::ocsvm
