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

void applyTransform(const RowTransform& t, const float* in, int64_t n, int64_t d, float* out, float* sqnorm,
                    int threads) {
  const bool centered = !t.center.empty();
  const int64_t block = 256;
  parallelFor((n + block - 1) / block, threads, [&](int64_t b, int) {
    for (int64_t i = b * block, end = std::min(n, (b + 1) * block); i < end; ++i) {
      const float* src = in + i * d;
      float* dst = out + i * d;
      float scale = 1.0f;
      if (t.l2normalize) {
        double ss = 0;
        for (int64_t k = 0; k < d; ++k) ss += static_cast<double>(src[k]) * src[k];
        // scikit-learn's normalize(): rows of norm zero are left unchanged.
        if (ss > 0) scale = static_cast<float>(1.0 / std::sqrt(ss));
      }
      double ss = 0;
      for (int64_t k = 0; k < d; ++k) {
        float v = t.l2normalize ? src[k] * scale : src[k];
        if (centered) v -= t.center[k];
        dst[k] = v;
        ss += static_cast<double>(v) * v;
      }
      if (sqnorm) sqnorm[i] = static_cast<float>(ss);
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
