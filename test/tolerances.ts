/**
 * Every tolerance of the TypeScript tests, in one table. Each entry says what it bounds and
 * why that bound (the C++ tests' table is native/tests/tolerances.h).
 */
export const TOLERANCES = {
  /** KDE log-density vs the exact float64 log-sum-exp: float32 inputs, the bound. */
  kdeLogDensity: { atol: 1e-3, rtol: 0 },
  /** KDE vs scikit-learn's own score_samples, on the rows where scikit-learn is exact. */
  kdeSklearn: { atol: 1e-3, rtol: 0 },
  /** Gaussian density covariance vs scikit-learn (float64 from float32 inputs). */
  gdeCovariance: { atol: 1e-9, rtol: 1e-6 },
  /** Squared Mahalanobis distance and log-likelihood: float32 projection of float64 factors. */
  gdeScore: { atol: 1e-3, rtol: 1e-4 },
  /** k-NN distances: re-ranked exactly in float64 from the float32 inputs. */
  knnDistance: { atol: 1e-6, rtol: 1e-6 },
  /** k-center covering radius vs numpy float64: distances summed in another order (and rotated). */
  coresetRadius: { atol: 1e-12, rtol: 1e-12 },
  /** Per-position squared Mahalanobis distances vs numpy (PaDiM): float32 products of float64 factors. */
  positionalScore: { atol: 1e-3, rtol: 1e-5 },
  /** Per-position means and log-determinants vs numpy: float64 sums of float32 features. */
  positionalMoments: { atol: 1e-9, rtol: 1e-9 },
  /** Heatmaps vs PyTorch float64: float32 banded operators. */
  heatmap: { atol: 2e-6, rtol: 1e-5 },
  /**
   * Dense heatmaps vs the same upsampling of a float64 reference grid: the grids differ by
   * knnDistance, divided by the calibration's scale, rounded to float32 before upsampling.
   */
  denseHeatmap: { atol: 1e-5, rtol: 1e-5 },
  /**
   * OC-SVM kernel sums (float64 sums of float32-GEMM distances) of one CPU level against another:
   * the dots round differently with wider vectors and fused multiply-adds.
   */
  kernelSumLevels: { atol: 1e-9, rtol: 1e-7 },
  /** OC-SVM kernel rows exp(-gamma d) in float32, one CPU level against another. */
  kernelRowsLevels: { atol: 5e-6, rtol: 1e-5 },
} as const;

export type Tolerance = { atol: number; rtol: number };

/** Largest |a - b| / (atol + rtol |b|) over the arrays; <= 1 means within tolerance. */
export function toleranceRatio(a: ArrayLike<number>, b: ArrayLike<number>, tol: Tolerance): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - b[i]);
    const r = Number.isNaN(err) ? Infinity : err / (tol.atol + tol.rtol * Math.abs(b[i]));
    if (r > worst) worst = r;
  }
  return worst;
}

/** OneClassSVM vs scikit-learn (the acceptance bounds). */
export const OCSVM = {
  /** dual objective, relative */
  objectiveRelative: 1e-4,
  /** number of support vectors: within 1% or 2 vectors */
  supportRelative: 0.01,
  supportAbsolute: 2,
  /** decision values within this fraction of the mean |decision_function| */
  decisionOfScale: 1e-3,
} as const;
