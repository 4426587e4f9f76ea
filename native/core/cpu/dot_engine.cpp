// Non-template entry points of the dot engine used outside the backend (float64 Gram products).
#include "dot_engine.h"

#include "gram.h"

namespace oneclass::cpu {
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

}  // namespace oneclass::cpu
