#include "oneclass/ocsvm_fit.h"

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

}  // namespace oneclass::ocsvm
