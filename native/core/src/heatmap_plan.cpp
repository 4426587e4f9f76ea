#include <algorithm>
#include <cmath>
#include <string>

#include "oneclass/errors.h"
#include "oneclass/heatmap.h"

namespace oneclass {

int64_t gaussianKernelSize(double sigma) { return 2 * static_cast<int64_t>(4.0 * sigma + 0.5) + 1; }

// PyTorch interpolate(mode='bilinear', align_corners=False) along one axis, without a scale
// factor: source = (o + 0.5) * in/out - 0.5, clamped at 0 from below.
std::vector<double> bilinearOperator(int64_t inSize, int64_t outSize) {
  std::vector<double> op(static_cast<size_t>(outSize * inSize), 0.0);
  const double scale = static_cast<double>(inSize) / static_cast<double>(outSize);
  for (int64_t o = 0; o < outSize; ++o) {
    double src = (static_cast<double>(o) + 0.5) * scale - 0.5;
    if (src < 0) src = 0;
    int64_t i0 = static_cast<int64_t>(src);
    int64_t i1 = i0 + (i0 < inSize - 1 ? 1 : 0);
    double l1 = src - static_cast<double>(i0);
    op[o * inSize + i0] += 1.0 - l1;
    op[o * inSize + i1] += l1;
  }
  return op;
}

// torch.nn.functional.pad(mode='reflect') index: mirrors about the edge pixel without repeating
// it; folded repeatedly so pads wider than the signal still have a definition.
static int64_t reflectIndex(int64_t i, int64_t n) {
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// Normalized Gaussian of size 2*int(4*sigma+0.5)+1 (anomalib / kornia), reflect border.
std::vector<double> gaussianReflectOperator(int64_t size, double sigma) {
  const int64_t ks = gaussianKernelSize(sigma), radius = ks / 2;
  std::vector<double> g(static_cast<size_t>(ks));
  double total = 0;
  for (int64_t t = 0; t < ks; ++t) {
    double x = static_cast<double>(t - radius);
    g[t] = std::exp(-x * x / (2 * sigma * sigma));
    total += g[t];
  }
  for (auto& v : g) v /= total;
  std::vector<double> op(static_cast<size_t>(size * size), 0.0);
  for (int64_t o = 0; o < size; ++o)
    for (int64_t t = 0; t < ks; ++t) op[o * size + reflectIndex(o + t - radius, size)] += g[t];
  return op;
}

// Patch p covers output pixels [p*stride, p*stride + patchSize) and spreads its score with a
// Gaussian centred on the patch (transposed convolution); each output pixel is then divided by
// the total weight reaching it (coverage). Pixels no patch covers take the nearest patch.
std::vector<double> receptiveFieldOperator(int64_t gridSize, int64_t outSize, int64_t patchSize, int64_t stride,
                                           double sigma) {
  std::vector<double> op(static_cast<size_t>(outSize * gridSize), 0.0);
  const double centre = (static_cast<double>(patchSize) - 1.0) / 2.0;
  for (int64_t o = 0; o < outSize; ++o) {
    double total = 0;
    for (int64_t p = 0; p < gridSize; ++p) {
      int64_t offset = o - p * stride;
      if (offset < 0 || offset >= patchSize) continue;
      double x = static_cast<double>(offset) - centre;
      double w = sigma > 0 ? std::exp(-x * x / (2 * sigma * sigma)) : 1.0;
      op[o * gridSize + p] = w;
      total += w;
    }
    if (total > 0) {
      for (int64_t p = 0; p < gridSize; ++p) op[o * gridSize + p] /= total;
    } else {
      int64_t nearest = std::min<int64_t>(gridSize - 1, std::max<int64_t>(0, (o - patchSize / 2) / stride));
      op[o * gridSize + nearest] = 1.0;
    }
  }
  return op;
}

static BandOperator toBand(const std::vector<double>& dense, int64_t outSize, int64_t inSize) {
  BandOperator band;
  band.outSize = outSize;
  band.inSize = inSize;
  band.start.resize(static_cast<size_t>(outSize));
  std::vector<int64_t> stop(static_cast<size_t>(outSize));
  for (int64_t o = 0; o < outSize; ++o) {
    int64_t lo = inSize, hi = 0;
    for (int64_t i = 0; i < inSize; ++i)
      if (dense[o * inSize + i] != 0) {
        lo = std::min(lo, i);
        hi = i + 1;
      }
    if (lo >= hi) lo = hi = 0;
    band.start[o] = lo;
    stop[o] = hi;
    band.taps = std::max(band.taps, hi - lo);
  }
  band.taps = std::max<int64_t>(band.taps, 1);
  // Shift bands that would run past the end so every read stays inside [0, inSize).
  for (int64_t o = 0; o < outSize; ++o) band.start[o] = std::min(band.start[o], inSize - band.taps);
  band.weight.assign(static_cast<size_t>(outSize * band.taps), 0.0f);
  for (int64_t o = 0; o < outSize; ++o)
    for (int64_t t = 0; t < band.taps; ++t)
      band.weight[o * band.taps + t] = static_cast<float>(dense[o * inSize + band.start[o] + t]);
  return band;
}

static std::vector<double> axisDense(int64_t inSize, int64_t outSize, const HeatmapOptions& o) {
  if (o.mode == HeatmapMode::Bilinear) {
    auto resize = bilinearOperator(inSize, outSize);
    if (o.sigma <= 0) return resize;
    // blur * resize without forming the outSize x outSize blur matrix.
    const int64_t ks = gaussianKernelSize(o.sigma), radius = ks / 2;
    std::vector<double> g(static_cast<size_t>(ks));
    double total = 0;
    for (int64_t t = 0; t < ks; ++t) {
      double x = static_cast<double>(t - radius);
      total += g[t] = std::exp(-x * x / (2 * o.sigma * o.sigma));
    }
    std::vector<double> composite(static_cast<size_t>(outSize * inSize), 0.0);
    for (int64_t out = 0; out < outSize; ++out)
      for (int64_t t = 0; t < ks; ++t) {
        const double* src = &resize[reflectIndex(out + t - radius, outSize) * inSize];
        for (int64_t i = 0; i < inSize; ++i) composite[out * inSize + i] += (g[t] / total) * src[i];
      }
    return composite;
  }
  return receptiveFieldOperator(inSize, outSize, o.patchSize, o.stride, o.sigma);
}

HeatmapPlan makeHeatmapPlan(int64_t inHeight, int64_t inWidth, const HeatmapOptions& o) {
  require(inHeight > 0 && inWidth > 0, "heatmap grids must have a positive height and width");
  require(o.outHeight > 0 && o.outWidth > 0, "height and width must be positive integers");
  require(o.outHeight <= 16384 && o.outWidth <= 16384, "height and width must be at most 16384");
  require(std::isfinite(o.sigma) && o.sigma >= 0, "sigma must be a finite number >= 0");
  if (o.mode == HeatmapMode::ReceptiveField) {
    require(o.patchSize > 0 && o.stride > 0, "receptive-field mode needs a positive patchSize and stride");
  }
  HeatmapPlan plan;
  plan.inHeight = inHeight;
  plan.inWidth = inWidth;
  plan.rows = toBand(axisDense(inHeight, o.outHeight, o), o.outHeight, inHeight);
  auto cols = axisDense(inWidth, o.outWidth, o);
  plan.cols = toBand(cols, o.outWidth, inWidth);
  std::vector<double> transposed(cols.size());
  for (int64_t x = 0; x < o.outWidth; ++x)
    for (int64_t j = 0; j < inWidth; ++j) transposed[j * o.outWidth + x] = cols[x * inWidth + j];
  plan.colsTransposed = toBand(transposed, inWidth, o.outWidth);
  return plan;
}

}  // namespace oneclass
