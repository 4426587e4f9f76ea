// Non-template entry points of the dot engine used outside the backend (float64 Gram products).
// Compiled once per CPU level (cpu_level.h); gram.h's addGramOfRows dispatches to one of them.
#include "dot_engine.h"

namespace ONECLASS_CPU_NAMESPACE {
namespace {

struct AccumulateEpilogue {
  double* out;
  int64_t ld;
  void begin(int64_t, int) {}
  void tile(int, int64_t row0, int rows, int64_t col0, int cols, const double* dots) {
    constexpr int NR = PackedPanels<double>::kPanelRows;
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) out[(row0 + r) * ld + col0 + c] += dots[r * NR + c];
  }
  void finish() {}
};

}  // namespace

void addGramOfRows(const double* a, int64_t rows, int64_t depth, double* out, int threads) {
  PackedPanels<double> packed = packPanels<double>(a, rows, depth, threads);
  AccumulateEpilogue epi{out, rows};
  runDotEngine(packed, a, rows, epi, threads, -1, /*lowerOnly=*/true);
}

}  // namespace ONECLASS_CPU_NAMESPACE
