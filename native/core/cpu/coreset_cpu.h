// The CPU kernels of the k-center selection (coreset.h).
#pragma once
#include <cstdint>
#include <vector>

#include "oneclass/coreset.h"

namespace ONECLASS_CPU_NAMESPACE {

// n x outDim float64 rows x R^T, with R outDim x d (row-major) and x n x d float32.
std::vector<double> projectRows(const float* x, int64_t n, int64_t d, const double* r, int64_t outDim, int threads);

KCenterResult kCenterGreedy(const float* x, int64_t n, int64_t d, const double* projection,
                            const KCenterOptions& options, Progress* progress);

}  // namespace ONECLASS_CPU_NAMESPACE
