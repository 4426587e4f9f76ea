// The k-center selection's checks and memory estimate (coreset.h); the selection itself runs on a
// backend (cpu/coreset_cpu.cpp, cuda/coreset_kernels.cu).
#include "oneclass/coreset.h"

#include <algorithm>
#include <limits>
#include <string>

#include "oneclass/errors.h"
#include "oneclass/transform.h"

namespace oneclass {

int64_t kCenterWorkingBytes(int64_t n, int64_t d, const KCenterOptions& options) {
  // The CPU keeps the (projected) rows rotated in float64, padded to whole blocks of 8 (at least 16
  // values), and per row a member entry of 144 bytes (with slack for the lists' growth); the map,
  // a sample of 20,000 rows and the selected rows come on top. CUDA needs less (float64 rows and
  // one distance per row).
  const int64_t dim = options.projection > 0 ? options.projection : d;
  const int64_t stride = std::max<int64_t>(16, (dim + 7) / 8 * 8);
  const int64_t rows = n * stride * 8, members = n * 144 * 3 / 2;
  const int64_t maps = dim * d * 8 + dim * dim * 16 + std::min<int64_t>(n, 20000) * (d * 4 + dim * 8);
  return rows + members + maps + options.count * stride * 8 + options.count * 64;
}

KCenterResult kCenterGreedy(Backend& backend, const float* x, int64_t n, int64_t d, const KCenterOptions& options,
                            Progress* progress) {
  require(n >= 1, "k-center selection needs at least one row, received 0");
  require(n < std::numeric_limits<int32_t>::max(), "k-center selection takes at most 2^31 - 1 rows");
  require(d >= 1, "k-center selection needs rows of at least one column");
  require(options.count >= 1 && options.count <= n,
          "count must be in [1, " + std::to_string(n) + "] (the rows), received " + std::to_string(options.count));
  require(options.start >= 0 && options.start < n,
          "start must be a row index in [0, " + std::to_string(n - 1) + "], received " + std::to_string(options.start));
  require(options.projection >= 0 && options.projection <= (1 << 16),
          "projection must be 0 (none) or a dimension in [1, 65536], received " + std::to_string(options.projection));
  requireFinite(x, n, d, "features");
  std::vector<double> projection;
  if (options.projection > 0) projection = gaussianProjection(options.projection, d, options.seed);
  return backend.kCenterGreedy(x, n, d, projection.empty() ? nullptr : projection.data(), options, progress);
}

}  // namespace oneclass
