// Every tolerance of the C++ tests, in one table (the TypeScript tests' table is test/tolerances.ts).
#pragma once
#include <cstdint>

namespace oneclass::testing {

struct Tolerance {
  double atol, rtol;
};

// CPU (float32 inputs, float32 GEMM, float64 reductions) against naive float64 references.
constexpr Tolerance kKdeLogSum{1e-4, 1e-6};       // log-sum of kernels, bandwidths >= 0.1 on unit-scale data
constexpr Tolerance kNearestSqDist{1e-9, 1e-12};  // exact float64 re-ranking of selected neighbours
constexpr Tolerance kSquaredNorm{1e-3, 1e-5};     // |L^-1 (x - mu)|^2 with a float32 projection
constexpr Tolerance kKernelRows{2e-6, 1e-5};      // exp(-gamma d) in float32
constexpr Tolerance kWeightedSum{1e-9, 1e-8};     // float64 kernel sums from float32 GEMM distances
constexpr Tolerance kHeatmap{1e-5, 1e-5};         // banded float32 operators
constexpr Tolerance kCovariance{1e-10, 1e-10};    // float64 Gram product
constexpr Tolerance kColumnStats{1e-12, 1e-10};   // float64 blocked sums of float32 entries
// The k-center covering radius: float64 distances summed in another order than the reference.
constexpr Tolerance kCoresetRadius{1e-12, 1e-12};
// Per-position squared Mahalanobis distances: float32 products of float64 factors, as kSquaredNorm.
constexpr Tolerance kPositionalScore{1e-3, 1e-5};
// Per-position means and covariances: float64 sums of float32 features.
constexpr Tolerance kPositionalMoments{1e-10, 1e-10};
// Fits on L2-normalized rows against float64 normalization: the rows are normalized in float32.
constexpr Tolerance kNormalizedFit{1e-9, 1e-5};
// The OC-SVM fit on a backend's kernel rows (float32 GEMM) against the exact-difference reference.
constexpr double kOcsvmObjectiveRel = 1e-5;

// test_ocsvm against scikit-learn fitted with the same tol (1e-3).
struct OcsvmTolerances {
  double objectiveRel = 1e-4;  // |obj - obj_ref| / |obj_ref|
  double supportRel = 0.01;    // |nSV - nSV_ref| <= max(supportAbs, supportRel * nSV_ref)
  int64_t supportAbs = 2;
  double decisionRel = 1e-3;  // max |f - f_ref| <= decisionRel * mean |f_ref| (the "band")
};

// CUDA against CPU.
constexpr Tolerance kCudaLogSum{2e-4, 1e-5};
constexpr Tolerance kCudaSquaredNorm{2e-3, 1e-4};
constexpr Tolerance kCudaKernelRows{5e-6, 1e-5};
constexpr Tolerance kCudaWeightedSum{1e-9, 1e-7};
constexpr Tolerance kCudaHeatmap{1e-5, 1e-5};
constexpr Tolerance kCudaPositionalMoments{1e-10, 1e-10};  // float64 on both, other summation order
constexpr Tolerance kCudaPositionalScore{2e-3, 1e-4};      // float32 products on both, other order

// Each CPU level against the baseline level (test_cpu_levels): the same float32 GEMM with wider
// vectors and fused multiply-adds, so a different rounding of each dot product (about 1e-7
// relative to |x||y|) and a different order of the float32 tile sums; bounds as for CUDA.
constexpr Tolerance kLevelLogSum{2e-4, 1e-5};
constexpr Tolerance kLevelSquaredNorm{2e-3, 1e-4};
constexpr Tolerance kLevelKernelRows{5e-6, 1e-5};
constexpr Tolerance kLevelWeightedSum{1e-9, 1e-7};
constexpr Tolerance kLevelHeatmap{1e-5, 1e-5};
constexpr Tolerance kLevelGram{1e-10, 1e-10};  // float64 Gram product: summation order only
constexpr double kLevelOcsvmObjectiveRel = 1e-5;

}  // namespace oneclass::testing
