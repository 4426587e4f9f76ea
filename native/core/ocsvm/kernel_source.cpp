#include "kernel_source.h"

#include <algorithm>

namespace oneclass::ocsvm {

BackendKernelSource::BackendKernelSource(Backend& backend, const PointSet& set, const float* raw,
                                         const RowTransform& transform, double gamma, ExecOptions exec)
    : backend_(backend), set_(set), raw_(raw), transform_(transform), gamma_(gamma), exec_(exec) {}

void BackendKernelSource::computeRows(const int64_t* rows, int count, float* out) {
  const int64_t d = set_.cols();
  gathered_.resize(static_cast<size_t>(count) * d);
  for (int r = 0; r < count; ++r) std::copy(raw_ + rows[r] * d, raw_ + (rows[r] + 1) * d, gathered_.begin() + r * d);
  backend_.kernelRows(set_, gathered_.data(), count, gamma_, out, exec_);
}

bool BackendKernelSource::computeLowerBlock(int64_t row0, int64_t row1, float* out) {
  // The training rows are contiguous: rows [row0, row1) against the first row1 columns.
  backend_.kernelRows(set_, raw_ + row0 * set_.cols(), row1 - row0, gamma_, out, exec_, row1);
  return true;
}

bool BackendKernelSource::computeAmong(const int64_t* rows, int count, int r0, int r1, float* out) {
  // The listed rows as a point set of their own, so the GEMM runs over them only. Same transform
  // and the same dot engine, so each value equals the one computeRows gives.
  const int64_t d = set_.cols();
  if (amongKey_ != rows || amongCount_ != count || !amongSet_) {
    among_.resize(static_cast<size_t>(count) * d);
    for (int r = 0; r < count; ++r) std::copy(raw_ + rows[r] * d, raw_ + (rows[r] + 1) * d, among_.begin() + r * d);
    amongSet_ = backend_.prepare(among_.data(), count, d, transform_);
    amongKey_ = rows;
    amongCount_ = count;
  }
  backend_.kernelRows(*amongSet_, among_.data() + static_cast<size_t>(r0) * d, r1 - r0, gamma_, out, exec_);
  return true;
}

}  // namespace oneclass::ocsvm
