// The CPU heatmap operator, compiled once per CPU level (cpu_level.h).
#include "heatmap_cpu.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "oneclass/parallel.h"
#include "oneclass/prefault.h"
#include "simd.h"

namespace ONECLASS_CPU_NAMESPACE {
namespace {

// The x-axis operator regrouped by blocks of kFloatLanes output pixels: block v reads grid
// columns [first[v], first[v] + span) with one weight vector per column, so a block of output
// is a chain of register FMAs (no read-modify-write of memory, which stalls on overlapping
// windows).
struct BlockedColumns {
  int64_t blocks = 0, span = 0;
  std::vector<int64_t> first;
  std::vector<float> weight;  // blocks x span x kFloatLanes
};

BlockedColumns blockColumns(const BandOperator& cols) {
  constexpr int64_t L = kFloatLanes;
  BlockedColumns b;
  b.blocks = (cols.outSize + L - 1) / L;
  b.first.resize(static_cast<size_t>(b.blocks));
  std::vector<int64_t> last(static_cast<size_t>(b.blocks));
  for (int64_t v = 0; v < b.blocks; ++v) {
    int64_t lo = cols.inSize, hi = 0;
    for (int64_t x = v * L; x < std::min(cols.outSize, (v + 1) * L); ++x) {
      lo = std::min(lo, cols.start[x]);
      hi = std::max(hi, cols.start[x] + cols.taps);
    }
    b.first[v] = lo;
    last[v] = hi;
    b.span = std::max(b.span, hi - lo);
  }
  for (int64_t v = 0; v < b.blocks; ++v) b.first[v] = std::min(b.first[v], cols.inSize - b.span);
  b.weight.assign(static_cast<size_t>(b.blocks * b.span * L), 0.0f);
  for (int64_t x = 0; x < cols.outSize; ++x) {
    const int64_t v = x / L;
    for (int64_t t = 0; t < cols.taps; ++t) {
      const int64_t j = cols.start[x] + t - b.first[v];
      b.weight[(v * b.span + j) * L + x % L] += cols.weight[x * cols.taps + t];
    }
  }
  return b;
}

}  // namespace

// Per map: first along y on the small grid (tmp = Ay * grid, inner loop over grid columns),
// then along x by output blocks held in registers, four rows at a time sharing the weights;
// rows are written with streaming stores (the output is large and not read back here).
void applyHeatmapPlan(const HeatmapPlan& plan, const float* grids, int64_t batch, float* out, int threads) {
  constexpr int64_t L = kFloatLanes, R = 4;
  const BandOperator& ry = plan.rows;
  const int64_t gh = plan.inHeight, gw = plan.inWidth, oh = ry.outSize, ow = plan.cols.outSize;
  const BlockedColumns bx = blockColumns(plan.cols);
  // A fresh output (not yet backed: the middle page tells) is faulted in one populate call per
  // map instead of a fault per page: 15-20% less CPU time for a fresh 262 MB output here
  // (docs/benchmarks.md). A reused one is skipped (the call would cost about 25 us per map).
  const bool fresh = batch > 0 && !pageBacked(out + batch * oh * ow / 2);
  if (fresh) adviseHugePages(out, static_cast<size_t>(batch * oh * ow) * sizeof(float));
  parallelFor(batch, threads, [&](int64_t b, int) {
    thread_local std::vector<float> tmp, lines;
    tmp.resize(static_cast<size_t>((oh + R) * gw));
    lines.resize(static_cast<size_t>(R * bx.blocks * L));
    const float* grid = grids + b * gh * gw;
    for (int64_t y = 0; y < oh; ++y) {
      float* dst = tmp.data() + y * gw;
      const float* w = ry.weight.data() + y * ry.taps;
      const float* src = grid + ry.start[y] * gw;
      for (int64_t j = 0; j < gw; ++j) dst[j] = w[0] * src[j];
      for (int64_t t = 1; t < ry.taps; ++t) {
        const float wt = w[t];
        const float* st = src + t * gw;
        for (int64_t j = 0; j < gw; ++j) dst[j] += wt * st[j];
      }
    }
    float* map = out + b * oh * ow;
    if (fresh) prefaultForWrite(map, static_cast<size_t>(oh * ow) * sizeof(float));
    for (int64_t y0 = 0; y0 < oh; y0 += R) {
      const float* t = tmp.data() + y0 * gw;  // rows past oh read padding; they are not written out
      for (int64_t v = 0; v < bx.blocks; ++v) {
        const float* w = bx.weight.data() + v * bx.span * L;
        const float* tv = t + bx.first[v];
        VF acc[R] = {};
        for (int64_t j = 0; j < bx.span; ++j) {
          const VF wj = loadVec<VF>(w + j * L);
#pragma GCC unroll 4
          for (int64_t r = 0; r < R; ++r) acc[r] += tv[r * gw + j] * wj;
        }
        for (int64_t r = 0; r < R; ++r) storeVec(lines.data() + (r * bx.blocks + v) * L, acc[r]);
      }
      for (int64_t r = 0; r < R && y0 + r < oh; ++r)
        streamCopy(map + (y0 + r) * ow, lines.data() + r * bx.blocks * L, ow);
    }
    streamFence();
  });
}

}  // namespace ONECLASS_CPU_NAMESPACE
