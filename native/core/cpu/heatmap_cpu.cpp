#include "heatmap_cpu.h"

#include <vector>

#include "oneclass/parallel.h"

namespace oneclass::cpu {

void applyHeatmapPlan(const HeatmapPlan& plan, const float* grids, int64_t batch, float* out, int threads) {
  const BandOperator& ry = plan.rows;
  const BandOperator& cx = plan.cols;
  const int64_t gh = plan.inHeight, gw = plan.inWidth, oh = ry.outSize, ow = cx.outSize;
  parallelFor(batch, threads, [&](int64_t b, int) {
    // First along x: tmp (gh x ow), then along y, where the inner loop runs over contiguous x.
    thread_local std::vector<float> tmp;
    tmp.resize(static_cast<size_t>(gh * ow));
    const float* grid = grids + b * gh * gw;
    for (int64_t i = 0; i < gh; ++i) {
      const float* src = grid + i * gw;
      float* dst = tmp.data() + i * ow;
      for (int64_t x = 0; x < ow; ++x) {
        const float* w = cx.weight.data() + x * cx.taps;
        const float* s = src + cx.start[x];
        float acc = 0;
        for (int64_t t = 0; t < cx.taps; ++t) acc += w[t] * s[t];
        dst[x] = acc;
      }
    }
    float* map = out + b * oh * ow;
    for (int64_t y = 0; y < oh; ++y) {
      float* dst = map + y * ow;
      const float* w = ry.weight.data() + y * ry.taps;
      const float* s = tmp.data() + ry.start[y] * ow;
      for (int64_t x = 0; x < ow; ++x) dst[x] = w[0] * s[x];
      for (int64_t t = 1; t < ry.taps; ++t) {
        const float wt = w[t];
        const float* st = s + t * ow;
        for (int64_t x = 0; x < ow; ++x) dst[x] += wt * st[x];
      }
    }
  });
}

}  // namespace oneclass::cpu
