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
};

// Accumulated in float64 over fixed blocks of rows merged in block order, so the result is the
// same bit for bit whatever `threads` is (0: every hardware thread). x is n x d, row-major.
ColumnStats columnStats(const float* x, int64_t n, int64_t d, const RowTransform& t, int threads);

}  // namespace oneclass
