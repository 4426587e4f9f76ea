// The k-center selection's checks and memory estimate (coreset.h); the selection itself runs on a
// backend (cpu/coreset_cpu.cpp, cuda/coreset_kernels.cu).
#include "oneclass/coreset.h"

#include <limits>
#include <string>

#include "oneclass/errors.h"
#include "oneclass/transform.h"

namespace oneclass {

int64_t kCenterWorkingBytes(int64_t n, int64_t d, const KCenterOptions& options) {
  // Projected rows, then per row: the distance to the selection (8), its cluster (4) and its place
  // in a cluster's member list (4, plus slack of the lists' growth); per selected row: a cluster.
  const int64_t projected = options.projection > 0 ? n * options.projection * 8 : 0;
  const int64_t projectionMatrix = options.projection * d * 8;
  return projected + projectionMatrix + n * 24 + options.count * 64;
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
