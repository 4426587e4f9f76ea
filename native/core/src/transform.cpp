// Row transforms (transform.h): L2 normalization and centring of rows, shared by the backends
// and the fitting code.
#include "oneclass/transform.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "oneclass/errors.h"
#include "oneclass/parallel.h"

namespace oneclass {

namespace {

// Sum of squares in float64 over eight interleaved partial sums: a fixed order (the same result
// in every build), and eight independent additions in flight instead of one chain, so the loop
// vectorizes (the single chain was latency bound at about 2.5 cycles per value).
double sumSquares(const float* v, int64_t d) {
  double acc[8] = {};
  int64_t k = 0;
  for (; k + 8 <= d; k += 8)
    for (int u = 0; u < 8; ++u) acc[u] += static_cast<double>(v[k + u]) * static_cast<double>(v[k + u]);
  double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; k < d; ++k) s += static_cast<double>(v[k]) * static_cast<double>(v[k]);
  return s;
}

}  // namespace

void applyTransform(const RowTransform& t, const float* in, int64_t n, int64_t d, float* out, float* sqnorm,
                    int threads) {
  const float* center = t.center.empty() ? nullptr : t.center.data();
  const bool l2 = t.l2normalize;
  const int64_t block = 256;
  parallelFor((n + block - 1) / block, threads, [&](int64_t b, int) {
    for (int64_t i = b * block, end = std::min(n, (b + 1) * block); i < end; ++i) {
      const float* __restrict src = in + i * d;
      float* __restrict dst = out + i * d;
      float scale = 1.0f;
      if (l2) {
        // scikit-learn's normalize(): rows of norm zero are left unchanged.
        const double ss = sumSquares(src, d);
        if (ss > 0) scale = static_cast<float>(1.0 / std::sqrt(ss));
      }
      if (center != nullptr && l2) {
        for (int64_t k = 0; k < d; ++k) {
          float v = src[k] * scale;
          dst[k] = v - center[k];
        }
      } else if (center != nullptr) {
        for (int64_t k = 0; k < d; ++k) dst[k] = src[k] - center[k];
      } else if (l2) {
        for (int64_t k = 0; k < d; ++k) dst[k] = src[k] * scale;
      } else if (dst != src) {
        std::memcpy(dst, src, static_cast<size_t>(d) * sizeof(float));
      }
      if (sqnorm) sqnorm[i] = static_cast<float>(sumSquares(dst, d));
    }
  });
}

void requireFinite(const float* data, int64_t rows, int64_t cols, const char* what) {
  const int64_t total = rows * cols;
  // Inf and NaN are the values whose exponent bits are all ones: tested without a branch, so the
  // loop vectorizes, over blocks in parallel; the first bad value is located only when there is
  // one. (The branching isfinite loop on one thread was 5-7 % of a decisionFunction call.)
  constexpr int64_t kBlock = int64_t(1) << 16;
  std::atomic<bool> bad{false};
  parallelFor((total + kBlock - 1) / kBlock, defaultThreads(), [&](int64_t b, int) {
    const int64_t begin = b * kBlock, end = std::min(total, begin + kBlock);
    uint32_t found = 0;
    for (int64_t i = begin; i < end; ++i) {
      uint32_t bits;
      std::memcpy(&bits, data + i, sizeof bits);
      found |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
    }
    if (found != 0) bad.store(true, std::memory_order_relaxed);
  });
  if (!bad.load()) return;
  for (int64_t i = 0; i < total; ++i) {
    if (!std::isfinite(data[i])) {
      fail(ErrorCode::InvalidArgument, std::string(what) + " row " + std::to_string(i / cols) + " contains " +
                                           (std::isnan(data[i]) ? "NaN" : "Infinity") + " (column " +
                                           std::to_string(i % cols) + ")");
    }
  }
}

int64_t superblockRows(int64_t d) {
  return std::max<int64_t>(256, (int64_t{32} << 20) / (4 * std::max<int64_t>(1, d)));
}

}  // namespace oneclass
