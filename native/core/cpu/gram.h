#pragma once
#include <cstdint>

namespace oneclass::cpu {

// out (rows x rows) += A A^T for row-major A (rows x depth), float64, multi-threaded. Callers
// with a long depth feed it in slices so the packed operands stay in cache. Only the lower
// triangle (j <= i) is complete: tiles wholly above the diagonal are skipped, so callers mirror
// it once at the end. Runs at the CPU level chosen at run time (cpu_dispatch.cpp).
void addGramOfRows(const double* a, int64_t rows, int64_t depth, double* out, int threads);

}  // namespace oneclass::cpu
