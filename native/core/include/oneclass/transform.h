// Row transforms shared by the backends (see RowTransform in backend.h).
#pragma once
#include <cstdint>

#include "oneclass/backend.h"

namespace oneclass {

// out (n x d) = T(in); sqnorm[i] = |out_i|^2 accumulated in float64 (sqnorm may be null).
void applyTransform(const RowTransform& t, const float* in, int64_t n, int64_t d, float* out, float* sqnorm,
                    int threads);

// Rows per superblock: queries are transformed and scored this many rows at a time so the
// working memory stays bounded whatever n is (about 32 MB of transformed rows).
int64_t superblockRows(int64_t d);

// The exact float64 distance neighbours are ranked and reported by, between two transformed rows:
// the squared Euclidean distance, or, when t L2-normalizes, the cosine distance 1 - <x, y> of the
// normalized rows (the centre added back), so that a row of norm zero, left at zero as
// scikit-learn leaves it, is at distance 1 from everything. `y` is read through yAt(k).
template <typename RowY>
double exactDistance(const RowTransform& t, const float* x, RowY&& yAt, int64_t d) {
  double s = 0;
  if (t.l2normalize) {
    for (int64_t k = 0; k < d; ++k) {
      const double c = t.center.empty() ? 0.0 : t.center[k];
      s += (static_cast<double>(x[k]) + c) * (static_cast<double>(yAt(k)) + c);
    }
    return 1.0 - s;
  }
  for (int64_t k = 0; k < d; ++k) {
    const double diff = static_cast<double>(x[k]) - static_cast<double>(yAt(k));
    s += diff * diff;
  }
  return s;
}

// Throws InvalidArgument naming `what`, the row and the column of the first NaN or Infinity.
void requireFinite(const float* data, int64_t rows, int64_t cols, const char* what);

}  // namespace oneclass
