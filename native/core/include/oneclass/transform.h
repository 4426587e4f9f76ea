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

// Throws InvalidArgument naming `what`, the row and the column of the first NaN or Infinity.
void requireFinite(const float* data, int64_t rows, int64_t cols, const char* what);

}  // namespace oneclass
