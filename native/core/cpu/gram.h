#pragma once
#include <cstdint>

namespace oneclass::cpu {

// out (rows x rows) = A A^T for row-major A (rows x depth), float64, multi-threaded.
void gramOfRows(const double* a, int64_t rows, int64_t depth, double* out, int threads);

}  // namespace oneclass::cpu
