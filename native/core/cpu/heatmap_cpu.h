#pragma once
#include <cstdint>

#include "cpu_level.h"
#include "oneclass/heatmap.h"

namespace ONECLASS_CPU_NAMESPACE {

// out[b] = rows-operator * grids[b] * cols-operator^T for each of `batch` grids, in float32.
void applyHeatmapPlan(const HeatmapPlan& plan, const float* grids, int64_t batch, float* out, int threads);

}  // namespace ONECLASS_CPU_NAMESPACE
