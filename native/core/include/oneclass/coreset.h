// Greedy k-center coreset selection: PatchCore's subsampling of a memory bank of patch features
// (Roth et al. 2022, after Sener & Savarese 2018). Rows are optionally mapped by a seeded
// Gaussian random projection; then, starting from row `start`, each step selects the unselected
// row farthest (squared Euclidean distance, float64) from the rows selected so far, ties to the
// lowest index. When fewer distinct rows than `count` exist, rows at distance 0 follow in index
// order. The result equals a float64 numpy implementation of the same definition (see
// python-export/refs/ref_coreset.py) up to float64 rounding, which only matters for rows at
// distances equal to 1e-15 relative.
//
// Memory: the projected rows (n x projection float64) and O(n) bookkeeping; never an n x n or
// n x count matrix (kCenterWorkingBytes says how much).
#pragma once
#include <cstdint>
#include <vector>

#include "oneclass/backend.h"
#include "oneclass/progress.h"

namespace oneclass {

struct KCenterOptions {
  int64_t count = 1;       // rows to select, in [1, n]
  int64_t projection = 0;  // 0: distances between the rows as given; else the projected dimension
  uint64_t seed = 0;       // of the projection (gaussianProjection)
  int64_t start = 0;       // the first selected row
  int threads = 0;         // CPU threads; 0 = every hardware thread
};

struct KCenterResult {
  std::vector<int64_t> indices;  // count rows, in selection order
  // After the last step: the largest distance (Euclidean, in the projected space) from any row to
  // its nearest selected row, i.e. the radius the coreset covers the rows with.
  double coveringRadius = 0;
  // Row-to-row distances computed (the plain algorithm computes n per step): how much the pruning
  // saved.
  int64_t distanceEvaluations = 0;
};

// The projection matrix R (outDim x inDim, row-major, float64): row i of the projected data is
// R x_i. Entries are N(0, 1/outDim) (as scikit-learn's GaussianRandomProjection), made by
// Box-Muller from SplitMix64: for e = i * inDim + j, with u(t) = ((splitmix64(seed, t) >> 11) + 0.5)
// * 2^-53 and q = e / 2, r = sqrt(-2 ln u(2q)), angle = 2 pi u(2q + 1), the entry is
// r cos(angle) / sqrt(outDim) for even e and r sin(angle) / sqrt(outDim) for odd e, where
// splitmix64(seed, t) is the (t+1)-th output of SplitMix64 started from state `seed`.
std::vector<double> gaussianProjection(int64_t outDim, int64_t inDim, uint64_t seed);

// Bytes the selection allocates beyond its input (projected rows and bookkeeping).
int64_t kCenterWorkingBytes(int64_t n, int64_t d, const KCenterOptions& options);

// Checks the arguments (InvalidArgument), the rows (NaN/Infinity named by row), then selects on
// `backend`. progress (may be null) is told the steps done out of options.count.
KCenterResult kCenterGreedy(Backend& backend, const float* x, int64_t n, int64_t d, const KCenterOptions& options,
                            Progress* progress = nullptr);

}  // namespace oneclass
