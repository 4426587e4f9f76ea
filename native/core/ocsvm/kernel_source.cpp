#include "kernel_source.h"

#include <algorithm>

namespace oneclass::ocsvm {

BackendKernelSource::BackendKernelSource(Backend& backend, const PointSet& set, const float* raw, double gamma,
                                         ExecOptions exec)
    : backend_(backend), set_(set), raw_(raw), gamma_(gamma), exec_(exec) {}

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

}  // namespace oneclass::ocsvm
