// The one-class SVM fit on a backend (ocsvm.h): the training rows prepared once, kernel rows
// from the backend, the SMO solver on top.
#include <cmath>

#include "common.h"
#include "kernel_source.h"
#include "oneclass/errors.h"
#include "oneclass/ocsvm.h"

namespace oneclass::ocsvm {

SolverResult fitOneClassSvm(Backend& backend, const float* data, int64_t n, int64_t d, const RowTransform& transform,
                            double gamma, const SolverOptions& options) {
  require(gamma > 0 && std::isfinite(gamma), "Expected gamma > 0 but received " + str(gamma));
  std::unique_ptr<PointSet> set = backend.prepare(data, n, d, transform);
  ExecOptions exec;
  exec.threads = options.threads;
  BackendKernelSource source(backend, *set, data, transform, gamma, exec);
  return solveOneClass(source, options);
}

}  // namespace oneclass::ocsvm
