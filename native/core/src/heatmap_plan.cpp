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

namespace {

// One output of a 1-D operator: the inputs [lo, lo + values.size()) it reads, with their weights
// (every nonzero weight of the row lies in that span). A plan is built row by row from these, so
// memory is proportional to the band, never to outSize x inSize (a 4096-cell grid to a 16384 px
// map would need 512 MiB per axis as a dense matrix).
struct SparseRow {
  int64_t lo = 0;
  std::vector<double> values;
};

// The nonzero span of a dense row.
SparseRow spanOf(const std::vector<double>& row) {
  const int64_t n = static_cast<int64_t>(row.size());
  int64_t lo = n, hi = 0;
  for (int64_t i = 0; i < n; ++i)
    if (row[i] != 0) {
      lo = std::min(lo, i);
      hi = i + 1;
    }
  SparseRow r;
  if (lo < hi) {
    r.lo = lo;
    r.values.assign(row.begin() + lo, row.begin() + hi);
  }
  return r;
}

// PyTorch's bilinear resize, one output row: at most two taps (the same sums as bilinearOperator).
struct BilinearTaps {
  int64_t i0, i1;
  double w0, w1;
};
BilinearTaps bilinearTaps(int64_t o, int64_t inSize, double scale) {
  double src = (static_cast<double>(o) + 0.5) * scale - 0.5;
  if (src < 0) src = 0;
  int64_t i0 = static_cast<int64_t>(src);
  int64_t i1 = i0 + (i0 < inSize - 1 ? 1 : 0);
  double l1 = src - static_cast<double>(i0);
  // As accumulated into a zeroed dense row: both taps land on i0 at the last input.
  if (i1 == i0) return {i0, i0, 0.0 + (1.0 - l1) + l1, 0.0};
  return {i0, i1, 1.0 - l1, l1};
}

// Every output row of one axis, computed into a reused scratch row of inSize values. The blur
// of the bilinear mode uses the resize rows' two taps: O(outSize x kernel) work, not
// O(outSize x kernel x inSize), with the same floating-point sums in the same order.
std::vector<SparseRow> axisRows(int64_t inSize, int64_t outSize, const HeatmapOptions& o) {
  std::vector<SparseRow> rows(static_cast<size_t>(outSize));
  std::vector<double> row(static_cast<size_t>(inSize), 0.0);
  const double scale = static_cast<double>(inSize) / static_cast<double>(outSize);
  if (o.mode == HeatmapMode::ReceptiveField) {
    // receptiveFieldOperator, one row at a time.
    const double centre = (static_cast<double>(o.patchSize) - 1.0) / 2.0;
    for (int64_t out = 0; out < outSize; ++out) {
      std::fill(row.begin(), row.end(), 0.0);
      double total = 0;
      for (int64_t p = 0; p < inSize; ++p) {
        int64_t offset = out - p * o.stride;
        if (offset < 0 || offset >= o.patchSize) continue;
        double x = static_cast<double>(offset) - centre;
        double w = o.sigma > 0 ? std::exp(-x * x / (2 * o.sigma * o.sigma)) : 1.0;
        row[p] = w;
        total += w;
      }
      if (total > 0) {
        for (int64_t p = 0; p < inSize; ++p) row[p] /= total;
      } else {
        int64_t nearest = std::min<int64_t>(inSize - 1, std::max<int64_t>(0, (out - o.patchSize / 2) / o.stride));
        row[nearest] = 1.0;
      }
      rows[out] = spanOf(row);
    }
    return rows;
  }
  if (o.sigma <= 0) {
    for (int64_t out = 0; out < outSize; ++out) {
      std::fill(row.begin(), row.end(), 0.0);
      const BilinearTaps b = bilinearTaps(out, inSize, scale);
      row[b.i0] += b.w0;
      if (b.i1 != b.i0) row[b.i1] += b.w1;
      rows[out] = spanOf(row);
    }
    return rows;
  }
  // blur * resize without forming the outSize x outSize blur matrix.
  const int64_t ks = gaussianKernelSize(o.sigma), radius = ks / 2;
  std::vector<double> g(static_cast<size_t>(ks));
  double total = 0;
  for (int64_t t = 0; t < ks; ++t) {
    double x = static_cast<double>(t - radius);
    total += g[t] = std::exp(-x * x / (2 * o.sigma * o.sigma));
  }
  std::vector<BilinearTaps> resize(static_cast<size_t>(outSize));
  for (int64_t out = 0; out < outSize; ++out) resize[out] = bilinearTaps(out, inSize, scale);
  for (int64_t out = 0; out < outSize; ++out) {
    std::fill(row.begin(), row.end(), 0.0);
    for (int64_t t = 0; t < ks; ++t) {
      const BilinearTaps& b = resize[reflectIndex(out + t - radius, outSize)];
      row[b.i0] += (g[t] / total) * b.w0;
      if (b.i1 != b.i0) row[b.i1] += (g[t] / total) * b.w1;
    }
    rows[out] = spanOf(row);
  }
  return rows;
}

BandOperator toBand(const std::vector<SparseRow>& rows, int64_t inSize) {
  BandOperator band;
  band.outSize = static_cast<int64_t>(rows.size());
  band.inSize = inSize;
  band.start.resize(rows.size());
  for (size_t o = 0; o < rows.size(); ++o) {
    band.start[o] = rows[o].values.empty() ? 0 : rows[o].lo;
    band.taps = std::max(band.taps, static_cast<int64_t>(rows[o].values.size()));
  }
  band.taps = std::max<int64_t>(band.taps, 1);
  // Shift bands that would run past the end so every read stays inside [0, inSize).
  for (auto& s : band.start) s = std::min(s, inSize - band.taps);
  band.weight.assign(rows.size() * static_cast<size_t>(band.taps), 0.0f);
  for (size_t o = 0; o < rows.size(); ++o)
    for (size_t k = 0; k < rows[o].values.size(); ++k)
      band.weight[o * band.taps + (rows[o].lo + static_cast<int64_t>(k) - band.start[o])] =
          static_cast<float>(rows[o].values[k]);
  return band;
}

// The rows of the transposed operator: input i's row lists the outputs that read it.
std::vector<SparseRow> transposeRows(const std::vector<SparseRow>& rows, int64_t inSize) {
  const int64_t outSize = static_cast<int64_t>(rows.size());
  std::vector<int64_t> lo(static_cast<size_t>(inSize), outSize), hi(static_cast<size_t>(inSize), 0);
  for (int64_t o = 0; o < outSize; ++o)
    for (size_t k = 0; k < rows[o].values.size(); ++k)
      if (rows[o].values[k] != 0) {
        const int64_t i = rows[o].lo + static_cast<int64_t>(k);
        lo[i] = std::min(lo[i], o);
        hi[i] = o + 1;
      }
  std::vector<SparseRow> t(static_cast<size_t>(inSize));
  for (int64_t i = 0; i < inSize; ++i)
    if (lo[i] < hi[i]) {
      t[i].lo = lo[i];
      t[i].values.assign(static_cast<size_t>(hi[i] - lo[i]), 0.0);
    }
  for (int64_t o = 0; o < outSize; ++o)
    for (size_t k = 0; k < rows[o].values.size(); ++k)
      if (rows[o].values[k] != 0) {
        const int64_t i = rows[o].lo + static_cast<int64_t>(k);
        t[i].values[o - t[i].lo] = rows[o].values[k];
      }
  return t;
}

}  // namespace

HeatmapPlan makeHeatmapPlan(int64_t inHeight, int64_t inWidth, const HeatmapOptions& o) {
  require(inHeight > 0 && inWidth > 0, "heatmap grids must have a positive height and width");
  require(inHeight <= kMaxHeatmapGridSide && inWidth <= kMaxHeatmapGridSide,
          "heatmap grids must be at most " + std::to_string(kMaxHeatmapGridSide) + " cells on a side");
  require(o.outHeight > 0 && o.outWidth > 0, "height and width must be positive integers");
  require(o.outHeight <= kMaxHeatmapSide && o.outWidth <= kMaxHeatmapSide,
          "height and width must be at most " + std::to_string(kMaxHeatmapSide));
  // Bounded before the kernel (2*int(4*sigma+0.5)+1 taps) is sized: sigma 3e8 asked for 19 GB, and
  // 1e307 overflowed the integer size and skipped the blur.
  require(std::isfinite(o.sigma) && o.sigma >= 0 && o.sigma <= kMaxHeatmapSigma,
          "sigma must be a finite number in [0, " + std::to_string(static_cast<int>(kMaxHeatmapSigma)) + "]");
  if (o.mode == HeatmapMode::ReceptiveField) {
    require(o.patchSize > 0 && o.stride > 0 && o.patchSize <= kMaxHeatmapSide && o.stride <= kMaxHeatmapSide,
            "receptive-field mode needs a patchSize and stride in [1, " + std::to_string(kMaxHeatmapSide) + "]");
  }
  HeatmapPlan plan;
  plan.inHeight = inHeight;
  plan.inWidth = inWidth;
  plan.rows = toBand(axisRows(inHeight, o.outHeight, o), inHeight);
  auto cols = axisRows(inWidth, o.outWidth, o);
  plan.cols = toBand(cols, inWidth);
  plan.colsTransposed = toBand(transposeRows(cols, inWidth), o.outWidth);
  return plan;
}

}  // namespace oneclass
