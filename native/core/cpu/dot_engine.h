// The CPU's one hot loop: dot products between every query row and every reference row,
// computed tile by tile by a register-blocked micro-kernel and handed to an op-specific
// epilogue (log-sum-exp, top-k, sum of squares, kernel rows) while the tile is in cache.
// The N x M matrix of dots never exists beyond one kMicroRows x (2 * lanes) tile.
//
// Layouts (GotoBLAS style):
//  - reference rows are packed once into panels of kPanelRows rows, depth-major
//    (panel[k * kPanelRows + c] = row c, element k), zero-padded to a whole panel;
//  - query rows are packed per work item into strips of kMicroRows rows, depth-major.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "oneclass/parallel.h"
#include "oneclass/prefault.h"
#include "simd.h"

namespace ONECLASS_CPU_NAMESPACE {

template <typename T>
constexpr int panelRows() {
  return 2 * Simd<T>::kLanes;
}

// std::allocator, plus transparent huge pages for blocks of 4 MB or more (oneclass/prefault.h):
// reference rows are packed into fresh memory at every fit, 40 MB at 20,000 x 512.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}
  T* allocate(size_t n) {
    T* p = std::allocator<T>().allocate(n);
    if (n * sizeof(T) >= (size_t(4) << 20)) adviseHugePages(p, n * sizeof(T));
    return p;
  }
  void deallocate(T* p, size_t n) { std::allocator<T>().deallocate(p, n); }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const HugePageAllocator<U>&) const {
    return false;
  }
};

template <typename T>
struct PackedPanels {
  static constexpr int kPanelRows = panelRows<T>();
  int64_t rows = 0, depth = 0, panels = 0;
  std::vector<T, HugePageAllocator<T>> data;  // panels * depth * kPanelRows

  const T* panel(int64_t p) const { return data.data() + p * depth * kPanelRows; }
  T at(int64_t row, int64_t k) const { return data[(row / kPanelRows * depth + k) * kPanelRows + row % kPanelRows]; }
};

// Packs m row-major rows of length depth.
template <typename T>
PackedPanels<T> packPanels(const T* rows, int64_t m, int64_t depth, int threads) {
  constexpr int NR = PackedPanels<T>::kPanelRows;
  PackedPanels<T> out;
  out.rows = m;
  out.depth = depth;
  out.panels = (m + NR - 1) / NR;
  out.data.assign(static_cast<size_t>(out.panels * depth * NR), T(0));
  parallelFor(out.panels, threads, [&](int64_t p, int) {
    T* dst = out.data.data() + p * depth * NR;
    int64_t r0 = p * NR, r1 = std::min<int64_t>(m, r0 + NR);
    for (int64_t r = r0; r < r1; ++r) {
      const T* src = rows + r * depth;
      for (int64_t k = 0; k < depth; ++k) dst[k * NR + (r - r0)] = src[k];
    }
  });
  return out;
}

// c (kMicroRows x kPanelRows, row-major) = a-strip . b-panel over `depth`. Never inlined: it
// needs 15 of the 16 ymm registers, and inlined into an epilogue's loop it competed with the
// epilogue's hoisted constants; with GCC's generic tuning one accumulator of the OC-SVM decision
// function's instance then lived on the stack, and that op ran 18% slower than a -march=native
// build on Zen 3 (a call per tile costs nothing measurable; docs/benchmarks.md).
template <typename T>
__attribute__((noinline)) void microKernel(const T* __restrict a, const T* __restrict b, int64_t depth,
                                           T* __restrict c) {
  using V = typename Simd<T>::V;
  constexpr int L = Simd<T>::kLanes, NR = 2 * L, MR = kMicroRows;
  V acc0[MR], acc1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) acc0[r] = acc1[r] = V{};
  // Unrolled so the loop's own counting does not take issue slots from the multiply-adds.
#pragma GCC unroll 4
  for (int64_t k = 0; k < depth; ++k) {
    const V b0 = loadVec<V>(b + k * NR), b1 = loadVec<V>(b + k * NR + L);
    const T* ak = a + k * MR;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const T av = ak[r];
      acc0[r] += av * b0;
      acc1[r] += av * b1;
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    storeVec(c + r * NR, acc0[r]);
    storeVec(c + r * NR + L, acc1[r]);
  }
}

// Runs `epi` over all (query row, reference panel) tiles. The query matrix `a` (n x depth,
// row-major) is already transformed. Epilogue contract:
//   void begin(int64_t n, int chunks);        // before any tile
//   void tile(int chunk, int64_t row0, int rows, int64_t col0, int cols, const T* dots);
//   void finish();                            // after all tiles, on the calling thread
// Each (row, chunk) pair is owned by exactly one work item, so per-(chunk,row) state needs no
// locking. Work is split over row blocks and, when rows are few, over column chunks too.
// maxCols >= 0 limits the reference rows to the first maxCols. lowerOnly (for a == b) skips the
// panels entirely above the diagonal: each row block stops at the panel holding its last row.
template <typename T, typename Epilogue>
void runDotEngine(const PackedPanels<T>& b, const T* a, int64_t n, Epilogue& epi, int threads, int64_t maxCols = -1,
                  bool lowerOnly = false) {
  constexpr int NR = PackedPanels<T>::kPanelRows, MR = kMicroRows;
  const int64_t depth = b.depth;
  const int64_t refRows = maxCols < 0 ? b.rows : std::min(b.rows, maxCols);
  const int64_t panels = (refRows + NR - 1) / NR;
  threads = std::max(1, threads);
  // A row block of about 256 KB stays in L2 while every panel of the reference streams past it.
  int64_t blockRows = (256 * 1024) / std::max<int64_t>(1, depth * static_cast<int64_t>(sizeof(T)));
  blockRows = std::clamp<int64_t>(blockRows / MR * MR, MR, 32 * MR);
  const int64_t rowBlocks = (n + blockRows - 1) / blockRows;
  // At least 4 items per thread: with fewer, the last item runs alone (7 row blocks on 2 threads
  // left one thread idle for 1/8 of a 1,024-query k-NN call) and a descheduled thread holds up the
  // whole call.
  int64_t chunks = 1;
  if (rowBlocks < 4 * threads) chunks = std::min<int64_t>(panels, (4 * threads + rowBlocks - 1) / rowBlocks);
  chunks = std::max<int64_t>(1, chunks);
  epi.begin(n, static_cast<int>(chunks));
  parallelFor(rowBlocks * chunks, threads, [&](int64_t item, int) {
    const int64_t rb = item / chunks, chunk = item % chunks;
    const int64_t row0 = rb * blockRows, rowEnd = std::min(n, row0 + blockRows);
    const int64_t strips = (rowEnd - row0 + MR - 1) / MR;
    const int64_t rowPanels = lowerOnly ? std::min(panels, (rowEnd + NR - 1) / NR) : panels;
    const int64_t p0 = rowPanels * chunk / chunks, p1 = rowPanels * (chunk + 1) / chunks;
    thread_local std::vector<T> packed;
    thread_local std::vector<T> tile;
    packed.assign(static_cast<size_t>(strips * depth * MR), T(0));
    tile.resize(MR * NR);
    for (int64_t s = 0; s < strips; ++s) {
      T* dst = packed.data() + s * depth * MR;
      for (int64_t r = 0; r < MR; ++r) {
        int64_t row = row0 + s * MR + r;
        if (row >= rowEnd) break;
        const T* src = a + row * depth;
        for (int64_t k = 0; k < depth; ++k) dst[k * MR + r] = src[k];
      }
    }
    for (int64_t p = p0; p < p1; ++p) {
      const T* panel = b.panel(p);
      const int cols = static_cast<int>(std::min<int64_t>(NR, refRows - p * NR));
      for (int64_t s = 0; s < strips; ++s) {
        microKernel<T>(packed.data() + s * depth * MR, panel, depth, tile.data());
        const int rows = static_cast<int>(std::min<int64_t>(MR, rowEnd - row0 - s * MR));
        epi.tile(static_cast<int>(chunk), row0 + s * MR, rows, p * NR, cols, tile.data());
      }
    }
  });
  epi.finish();
}

// out (n rows of stride ld, the first outDim values written) = x m^T in float64, for float32 rows
// x (n x d) and a float64 map m (outDim x d). Defined in dot_engine.cpp.
void mapRows(const float* x, int64_t n, int64_t d, const double* m, int64_t outDim, double* out, int64_t ld,
             int threads);

// cpu/gram.h's addGramOfRows at this file's level (kernel files call it directly, without the
// dispatch). Defined in dot_engine.cpp.
void addGramOfRows(const double* a, int64_t rows, int64_t depth, double* out, int threads);

}  // namespace ONECLASS_CPU_NAMESPACE
