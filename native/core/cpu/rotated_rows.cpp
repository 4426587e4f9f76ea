#include "rotated_rows.h"

#include <algorithm>

#include "dot_engine.h"
#include "principal_axes.h"

namespace ONECLASS_CPU_NAMESPACE {
namespace {

constexpr int64_t kSample = 20000;    // rows the principal axes are estimated from
constexpr int64_t kMaxRotated = 512;  // dimensions up to which rows are rotated onto principal axes

}  // namespace

RotatedRows rotateRows(const float* x, int64_t n, int64_t d, const double* r, int64_t projection, int64_t minBlocks,
                       int threads) {
  const int64_t dim = r ? projection : d;
  const int64_t m = std::min(n, kSample);
  std::vector<float> sample(static_cast<size_t>(m * d));
  for (int64_t i = 0; i < m; ++i) {
    const float* src = x + (i * n / m) * d;
    std::copy(src, src + d, sample.begin() + i * d);
  }
  std::vector<double> base(static_cast<size_t>(m * dim));
  if (r) {
    mapRows(sample.data(), m, d, r, dim, base.data(), dim, threads);
  } else {
    std::copy(sample.begin(), sample.end(), base.begin());
  }
  // Jacobi costs O(dim^3) per sweep: beyond kMaxRotated dimensions the rows keep their axes (the
  // partial sums stay exact lower bounds, just less tight).
  std::vector<double> v;
  if (dim <= kMaxRotated) {
    v = principalAxes(base.data(), m, dim, threads);
  } else {
    v.assign(static_cast<size_t>(dim * dim), 0.0);
    for (int64_t i = 0; i < dim; ++i) v[i * dim + i] = 1.0;
  }
  std::vector<double> w(static_cast<size_t>(dim * d), 0.0);  // V^T R, or V^T
  for (int64_t i = 0; i < dim; ++i)
    for (int64_t k = 0; k < dim; ++k) {
      const double vki = v[k * dim + i];
      if (r) {
        for (int64_t j = 0; j < d; ++j) w[i * d + j] += vki * r[k * d + j];
      } else {
        w[i * d + k] = vki;
      }
    }
  RotatedRows out;
  out.blocks = std::max<int64_t>(minBlocks, (dim + kBlock - 1) / kBlock);
  out.stride = out.blocks * kBlock;
  out.data.assign(static_cast<size_t>(n * out.stride), 0.0);
  mapRows(x, n, d, w.data(), dim, out.data.data(), out.stride, threads);
  return out;
}

}  // namespace ONECLASS_CPU_NAMESPACE
