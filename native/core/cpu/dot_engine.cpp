// Non-template entry points of the dot engine for the float64 products used outside the backend:
// Gram matrices (principal axes) and maps of rows (the coreset's projection and rotation).
// Compiled once per CPU level (cpu_level.h); gram.h's addGramOfRows dispatches to one of them.
#include "dot_engine.h"

namespace ONECLASS_CPU_NAMESPACE {
namespace {

// Writes each tile of dot products into out (row stride ld), or adds it there (Accumulate).
template <bool Accumulate>
struct StoreEpilogue {
  double* out;
  int64_t ld;
  void begin(int64_t, int) {}
  void tile(int, int64_t row0, int rows, int64_t col0, int cols, const double* dots) {
    constexpr int NR = PackedPanels<double>::kPanelRows;
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        double& o = out[(row0 + r) * ld + col0 + c];
        if constexpr (Accumulate)
          o += dots[r * NR + c];
        else
          o = dots[r * NR + c];
      }
  }
  void finish() {}
};

}  // namespace

void addGramOfRows(const double* a, int64_t rows, int64_t depth, double* out, int threads) {
  PackedPanels<double> packed = packPanels<double>(a, rows, depth, threads);
  StoreEpilogue<true> epi{out, rows};
  runDotEngine(packed, a, rows, epi, threads, -1, /*lowerOnly=*/true);
}

// Converts x to float64 in blocks of about 8 MB and maps each block through the packed m.
void mapRows(const float* x, int64_t n, int64_t d, const double* m, int64_t outDim, double* out, int64_t ld,
             int threads) {
  PackedPanels<double> packed = packPanels<double>(m, outDim, d, threads);
  const int64_t block = std::max<int64_t>(64, (int64_t{8} << 20) / (8 * d));  // 8 MB of float64 rows
  std::vector<double> a(static_cast<size_t>(std::min(n, block) * d));
  for (int64_t s = 0; s < n; s += block) {
    const int64_t count = std::min(block, n - s);
    parallelFor((count + 255) / 256, threads, [&](int64_t b, int) {
      for (int64_t i = b * 256 * d, end = std::min(count, (b + 1) * 256) * d; i < end; ++i)
        a[i] = static_cast<double>(x[s * d + i]);
    });
    StoreEpilogue<false> epi{out + s * ld, ld};
    runDotEngine(packed, a.data(), count, epi, threads);
  }
}

}  // namespace ONECLASS_CPU_NAMESPACE
