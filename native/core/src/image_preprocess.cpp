// Compiled with -ffp-contract=off (CMakeLists.txt): the filter weights must be computed with
// exactly the double operations JavaScript and Python perform, without fused multiply-adds.
#include "oneclass/image_preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "oneclass/errors.h"

namespace oneclass {
namespace {

constexpr int kBits = 14;
constexpr int32_t kRound = 1 << (kBits - 1);

struct Taps {
  std::vector<int64_t> start, count;
  std::vector<int32_t> weight;  // maxTaps per output index
  int64_t maxTaps = 1;
};

// Mirrors triangleTaps() in src/encoder/resize.ts operation for operation.
Taps triangleTaps(int64_t inSize, int64_t outSize) {
  Taps t;
  const double scale = static_cast<double>(inSize) / static_cast<double>(outSize);
  const double support = scale > 1.0 ? scale : 1.0;
  std::vector<std::vector<int32_t>> fixed(static_cast<size_t>(outSize));
  t.start.resize(static_cast<size_t>(outSize));
  t.count.resize(static_cast<size_t>(outSize));
  for (int64_t i = 0; i < outSize; ++i) {
    const double center = (static_cast<double>(i) + 0.5) * scale;
    const int64_t lo = std::max<int64_t>(static_cast<int64_t>(std::floor(center - support + 0.5)), 0);
    const int64_t hi = std::min<int64_t>(static_cast<int64_t>(std::floor(center + support + 0.5)), inSize);
    std::vector<double> ws;
    double total = 0.0;
    for (int64_t j = lo; j < hi; ++j) {
      const double u = std::fabs((static_cast<double>(j) + 0.5 - center) / support);
      const double w = u < 1.0 ? 1.0 - u : 0.0;
      ws.push_back(w);
      total = total + w;
    }
    for (double w : ws) {
      const double scaled = (w / total) * static_cast<double>(1 << kBits);
      fixed[i].push_back(static_cast<int32_t>(std::floor(scaled + 0.5)));
    }
    t.start[i] = lo;
    t.count[i] = static_cast<int64_t>(fixed[i].size());
    t.maxTaps = std::max(t.maxTaps, t.count[i]);
  }
  t.weight.assign(static_cast<size_t>(outSize * t.maxTaps), 0);
  for (int64_t i = 0; i < outSize; ++i) std::copy(fixed[i].begin(), fixed[i].end(), t.weight.begin() + i * t.maxTaps);
  return t;
}

// (acc + 2^13) >> 14 with JavaScript's 32-bit arithmetic shift, clamped to [0, 255].
inline uint8_t clampU8(int32_t acc) {
  const int32_t v = (acc + kRound) >> kBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

void horizontal(const uint8_t* src, int64_t h, int64_t w, int64_t c, int64_t outW, uint8_t* out) {
  const Taps t = triangleTaps(w, outW);
  for (int64_t y = 0; y < h; ++y) {
    const uint8_t* row = src + y * w * c;
    for (int64_t x = 0; x < outW; ++x) {
      const int32_t* wt = t.weight.data() + x * t.maxTaps;
      for (int64_t ch = 0; ch < c; ++ch) {
        int32_t acc = 0;
        for (int64_t k = 0; k < t.count[x]; ++k) acc += wt[k] * row[(t.start[x] + k) * c + ch];
        out[(y * outW + x) * c + ch] = clampU8(acc);
      }
    }
  }
}

void vertical(const uint8_t* src, int64_t h, int64_t w, int64_t c, int64_t outH, uint8_t* out) {
  const Taps t = triangleTaps(h, outH);
  const int64_t stride = w * c;
  std::vector<int32_t> acc(static_cast<size_t>(stride));
  for (int64_t y = 0; y < outH; ++y) {
    const int32_t* wt = t.weight.data() + y * t.maxTaps;
    std::fill(acc.begin(), acc.end(), 0);
    for (int64_t k = 0; k < t.count[y]; ++k) {
      const uint8_t* line = src + (t.start[y] + k) * stride;
      const int32_t wk = wt[k];
      for (int64_t i = 0; i < stride; ++i) acc[i] += wk * line[i];
    }
    for (int64_t i = 0; i < stride; ++i) out[y * stride + i] = clampU8(acc[i]);
  }
}

// normalizeToPlanar for an image whose rows start every `rowStride` bytes (a window of a larger
// image).
void normalizeRows(const uint8_t* src, int64_t rowStride, int64_t height, int64_t width, int64_t channels,
                   const float* table, float* out) {
  const int64_t plane = height * width;
  for (int64_t c = 0; c < channels; ++c) {
    const float* lut = table + c * 256;
    float* dst = out + c * plane;
    for (int64_t y = 0; y < height; ++y) {
      const uint8_t* row = src + y * rowStride + c;
      float* line = dst + y * width;
      for (int64_t x = 0; x < width; ++x) line[x] = lut[row[x * channels]];
    }
  }
}

}  // namespace

void resizeTriangleU8(const uint8_t* src, int64_t height, int64_t width, int64_t channels, int64_t outHeight,
                      int64_t outWidth, uint8_t* out) {
  std::vector<uint8_t> tmp;
  const uint8_t* cur = src;
  int64_t w = width;
  if (width != outWidth) {
    tmp.resize(static_cast<size_t>(height * outWidth * channels));
    horizontal(src, height, width, channels, outWidth, tmp.data());
    cur = tmp.data();
    w = outWidth;
  }
  if (height != outHeight) {
    vertical(cur, height, w, channels, outHeight, out);
  } else {
    std::memcpy(out, cur, static_cast<size_t>(height * w * channels));
  }
}

void normalizeToPlanar(const uint8_t* src, int64_t height, int64_t width, int64_t channels, const float* table,
                       float* out) {
  normalizeRows(src, width * channels, height, width, channels, table, out);
}

void preprocessPatches(const uint8_t* src, int64_t height, int64_t width, int64_t channels, const PatchGrid& grid,
                       const float* table, float* out) {
  require(grid.resize >= 1 && grid.patchSize >= 1 && grid.stride >= 1 && grid.patchSize <= grid.resize &&
              grid.outHeight >= 1 && grid.outWidth >= 1,
          "patch grid: expected 1 <= patchSize <= resize, stride >= 1 and an output size >= 1");
  const int64_t resize = grid.resize, size = grid.patchSize, side = grid.side();
  std::vector<uint8_t> resized(static_cast<size_t>(resize * resize * channels));
  resizeTriangleU8(src, height, width, channels, resize, resize, resized.data());
  const bool atSize = size == grid.outHeight && size == grid.outWidth;
  const int64_t per = channels * grid.outHeight * grid.outWidth;
  const int64_t rowStride = resize * channels;
  std::vector<uint8_t> patch, patchResized;
  if (!atSize) {
    patch.resize(static_cast<size_t>(size * size * channels));
    patchResized.resize(static_cast<size_t>(per));
  }
  for (int64_t py = 0; py < side; ++py) {
    for (int64_t px = 0; px < side; ++px) {
      const uint8_t* corner = resized.data() + py * grid.stride * rowStride + px * grid.stride * channels;
      float* dst = out + (py * side + px) * per;
      if (atSize) {
        // Read in place: the patch is a window of the resized image.
        normalizeRows(corner, rowStride, size, size, channels, table, dst);
        continue;
      }
      for (int64_t r = 0; r < size; ++r)
        std::memcpy(patch.data() + r * size * channels, corner + r * rowStride, static_cast<size_t>(size * channels));
      resizeTriangleU8(patch.data(), size, size, channels, grid.outHeight, grid.outWidth, patchResized.data());
      normalizeToPlanar(patchResized.data(), grid.outHeight, grid.outWidth, channels, table, dst);
    }
  }
}

}  // namespace oneclass
