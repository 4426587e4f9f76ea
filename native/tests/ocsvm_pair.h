// One OC-SVM problem fitted on two backends, for the tests that compare backends
// (test_cpu_levels: a CPU level against the baseline; test_cuda_vs_cpu: CUDA against the CPU):
// m isotropic Gaussian rows of 64 dimensions, centred at 0, nu = 0.3, gamma = 1 / d.
#pragma once
#include <cstdint>

#include "oneclass/backend.h"
#include "oneclass/ocsvm.h"
#include "test_util.h"

namespace oneclass::testing {

struct OcsvmFitPair {
  ocsvm::SolverResult a, b;
};

inline OcsvmFitPair fitOcsvmOnBoth(Backend& a, Backend& b, int64_t m) {
  const int64_t d = 64;
  const std::vector<float> x = gaussianMatrix(m, d, 7);
  RowTransform tr;
  tr.center.assign(d, 0.0f);
  ocsvm::SolverOptions opt;
  opt.nu = 0.3;
  return {ocsvm::fitOneClassSvm(a, x.data(), m, d, tr, 1.0 / d, opt),
          ocsvm::fitOneClassSvm(b, x.data(), m, d, tr, 1.0 / d, opt)};
}

}  // namespace oneclass::testing
