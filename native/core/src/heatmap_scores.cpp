// Image scores from heatmaps (heatmap.h): the maximum or the top-k mean of each map.
#include <algorithm>
#include <functional>
#include <vector>

#include "oneclass/errors.h"
#include "oneclass/heatmap.h"
#include "oneclass/parallel.h"

namespace oneclass {

void reduceHeatmaps(const float* maps, int64_t batch, int64_t perMap, HeatmapReduce mode, int64_t k, double* out,
                    int threads) {
  require(perMap >= 1, "Expected at least one value per heatmap but received " + std::to_string(perMap));
  if (mode == HeatmapReduce::TopKMean)
    require(k >= 1 && k <= perMap,
            "Expected k in [1, " + std::to_string(perMap) + "] but received " + std::to_string(k));
  parallelFor(batch, resolveThreads(threads), [&](int64_t b, int) {
    const float* map = maps + b * perMap;
    if (mode == HeatmapReduce::Max) {
      float m = map[0];
      for (int64_t i = 1; i < perMap; ++i) m = std::max(m, map[i]);
      out[b] = m;
      return;
    }
    // The k largest, unordered, in front (linear time on average), then their float64 mean.
    thread_local std::vector<float> copy;
    copy.assign(map, map + perMap);
    std::nth_element(copy.begin(), copy.begin() + (k - 1), copy.end(), std::greater<float>());
    double sum = 0;
    for (int64_t i = 0; i < k; ++i) sum += copy[static_cast<size_t>(i)];
    out[b] = sum / static_cast<double>(k);
  });
}

}  // namespace oneclass
