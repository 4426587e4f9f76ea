// Statistics of a training matrix after its row transform, for the data-dependent parameters of
// the detectors: the column means centre the rows (float32 GEMM accuracy, NUMERICS.md) and the
// variance of all entries drives the 'scale' / 'droc' kernel widths (scikit-learn's X.var()).
#pragma once
#include <cstdint>
#include <vector>

#include "oneclass/backend.h"

namespace oneclass {

struct ColumnStats {
  std::vector<double> mean;  // d column means of T(x)
  double variance = 0;       // variance of all n * d entries of T(x), divided by the count (numpy's var)
  // For the float32 precision warning (src/detectors/common.ts), so that it needs no scan of the
  // data on the JS thread: the largest |T(x)| entry, and the upper medians (element count / 2 of
  // the sorted values) of the columns' sums of squared deviations sum_i (T(x)_ik - mean_k)^2 and
  // of the rows' squared distances to the mean |T(x_i) - mean|^2.
  double largestAbs = 0;
  double medianColumnDeviation = 0;
  double medianRowDeviation = 0;
};

// Accumulated in float64 over fixed blocks of rows merged in block order, so the result is the
// same bit for bit whatever `threads` is (0: every hardware thread). x is n x d, row-major.
ColumnStats columnStats(const float* x, int64_t n, int64_t d, const RowTransform& t, int threads);

}  // namespace oneclass
