// Heatmap upsampling as two banded 1-D linear operators: out = Ay * grid * Ax^T.
//
// Both modes are linear and separable, so each is built once per (grid size, output size,
// options) as one operator per axis, in float64, by composing the reference 1-D operations
// exactly (bilinear resize with PyTorch's align_corners=False sampling, then a normalized
// Gaussian with 'reflect' borders; or the receptive-field Gaussian spread normalized by
// coverage). Applying the plan is then O(taps) per output pixel on any backend.
#pragma once
#include <cstdint>
#include <vector>

namespace oneclass {

// One axis: output index o reads inputs [start[o], start[o] + taps) with weights
// weight[o * taps + t] (zero-padded where the band is narrower).
struct BandOperator {
  int64_t outSize = 0, inSize = 0, taps = 0;
  std::vector<int64_t> start;
  std::vector<float> weight;
};

enum class HeatmapMode { Bilinear, ReceptiveField };

// Bounds checked by makeHeatmapPlan before anything is allocated (src/localization/heatmaps.ts
// states the same ones to callers).
constexpr int64_t kMaxHeatmapSide = 16384;     // output height / width, patchSize, stride
constexpr int64_t kMaxHeatmapGridSide = 4096;  // grid height / width
constexpr double kMaxHeatmapSigma = 4096;      // Gaussian sigma, output pixels

struct HeatmapOptions {
  HeatmapMode mode = HeatmapMode::Bilinear;
  int64_t outHeight = 0, outWidth = 0;
  double sigma = 4.0;     // Gaussian sigma in output pixels; 0 disables the blur (bilinear mode)
  int64_t patchSize = 0;  // receptive-field mode: patch side in output pixels
  int64_t stride = 0;     // receptive-field mode: distance between patch origins
};

struct HeatmapPlan {
  int64_t inHeight = 0, inWidth = 0;
  BandOperator rows, cols;
  // cols transposed: input column j writes outputs [start[j], start[j] + taps). The CPU applies
  // the x-axis in this scatter form so its inner loop runs over contiguous outputs.
  BandOperator colsTransposed;
};

HeatmapPlan makeHeatmapPlan(int64_t inHeight, int64_t inWidth, const HeatmapOptions& options);

// Image scores from heatmaps (the 'heatmap-max' and 'heatmap-top-k' image scores of dense
// localization): per map of `perMap` values, its maximum, or the mean of its k largest values
// (1 <= k <= perMap; summed in float64). One map per work item over `threads` threads.
enum class HeatmapReduce { Max, TopKMean };
void reduceHeatmaps(const float* maps, int64_t batch, int64_t perMap, HeatmapReduce mode, int64_t k, double* out,
                    int threads);

// Exposed for tests: the dense 1-D operators in float64 (outSize x inSize, row-major).
std::vector<double> bilinearOperator(int64_t inSize, int64_t outSize);
std::vector<double> gaussianReflectOperator(int64_t size, double sigma);
std::vector<double> receptiveFieldOperator(int64_t gridSize, int64_t outSize, int64_t patchSize, int64_t stride,
                                           double sigma);
int64_t gaussianKernelSize(double sigma);

}  // namespace oneclass
