/**
 * RBF one-class SVM with scikit-learn's OneClassSVM semantics (libsvm's nu one-class dual):
 * decisionFunction(y) = sum_i alpha_i K(x_i, y) - rho, positive for inliers;
 * scoreSamples = decisionFunction + offset (offset = rho); predict = +1 inlier / -1 outlier.
 *
 * The solver (native/core/cpu/ocsvm_solver.cpp) follows libsvm step for step (initial alpha,
 * second-order working-set selection, stopping rule, rho), but reads kernel rows computed in
 * blocks by the fused GEMM path (or the whole kernel matrix when it fits cacheMb). Scoring is
 * a float64 weighted kernel sum over the support vectors.
 */
import { callNative, invalidInput, OneclassError } from '../errors.js';
import { decodeModel, encodeModel, matrixTensor } from '../io/model-bytes.js';
import { tensor } from '../io/safetensors.js';
import { binding, inputChangedDuringCall, type NativePointSet } from '../native.js';
import {
  expectBoolean,
  expectInteger,
  expectMatrix,
  expectNumber,
  expectOneOf,
  expectPositiveNumber,
  type Matrix,
} from '../validate.js';
import {
  COMPUTE_KEYS,
  computeOptions,
  type ComputeOptions,
  detectorOptions,
  type ResolvedCompute,
  restoreCompute,
  warnOnPrecisionFromStats,
} from './common.js';

/**
 * 'scale': 1 / (d * Var(X)) with Var over all entries; 'auto': 1 / d (scikit-learn's rules);
 * 'droc': 10 / (d * Var(X)), the rule of the official deep one-class code (the same gamma as
 * KernelDensity's 'droc' bandwidth), meant for L2-normalized embeddings.
 */
export type GammaRule = 'scale' | 'auto' | 'droc';
export const GAMMA_RULES: readonly GammaRule[] = ['scale', 'auto', 'droc'];

export interface OneClassSvmOptions extends ComputeOptions {
  /** Upper bound on the fraction of training errors, lower bound on the fraction of support vectors; in (0, 1]. Default 0.5. */
  nu?: number;
  /** RBF gamma: a positive number or a rule. Default 'scale'. */
  gamma?: number | GammaRule;
  /** Stopping tolerance on the KKT gap (libsvm's eps). Default 1e-3. */
  tol?: number;
  /** Iteration cap; -1 = libsvm's default max(10^7, 100 l). A fit stopped by it reports converged = false. */
  maxIter?: number;
  /** Memory budget for kernel values in MB (the whole matrix is kept when it fits). Default 1024. */
  cacheMb?: number;
  /** libsvm's shrinking heuristic. Default true. */
  shrinking?: boolean;
  /**
   * Where SMO starts. 'subproblem' (default): the same problem is first solved on 1,024 rows drawn
   * with a fixed seed, and the start puts alpha = 1 on the rows its decision function scores
   * lowest, the likely outliers; SMO then needs fewer steps and kernel rows (fits 1.1-1.7x faster
   * at nu <= 0.1 and 1.4-7.7x at nu = 0.5 on the benchmark grid, docs/benchmarks.md).
   * 'libsvm': libsvm's start (alpha = 1 on the first nu * l rows), which follows scikit-learn's
   * iterations step for step. Both reach the same optimum within tol; the support vectors on the
   * margin (alpha decided within tol) can differ by one or two. Fits on fewer than 1,024 rows
   * always use libsvm's start.
   */
  start?: OcsvmStart;
  /** L2-normalize every row first (the papers' setting). Default false. */
  normalize?: boolean;
}

const KEYS = ['nu', 'gamma', 'tol', 'maxIter', 'cacheMb', 'shrinking', 'start', 'normalize', ...COMPUTE_KEYS];

/** OneClassSvmOptions.start. */
export type OcsvmStart = 'subproblem' | 'libsvm';
export const OCSVM_STARTS: readonly OcsvmStart[] = ['subproblem', 'libsvm'];
/** Rows of the start point's sub-problem (OneClassSvmOptions.start = 'subproblem'). */
const START_SAMPLE = 1024;

interface FitState {
  supportVectors: Matrix;
  dualCoef: Float64Array;
  supportIndices: Int32Array;
  rho: number;
  gamma: number;
  nu: number;
  normalize: boolean;
  center: Float32Array;
  objective: number;
  iterations: number;
  converged: boolean;
}

export class OneClassSVM {
  /** Support vectors (rows of the training matrix with alpha > 0), as given (untransformed). */
  readonly supportVectors: Matrix;
  /** alpha of each support vector (scikit-learn's dual_coef_). */
  readonly dualCoef: Float64Array;
  /** Indices of the support vectors in the training matrix (scikit-learn's support_). */
  readonly supportIndices: Int32Array;
  readonly rho: number;
  readonly gamma: number;
  readonly nu: number;
  readonly normalize: boolean;
  /** Dual objective 0.5 alpha' Q alpha at the solution. */
  readonly objective: number;
  readonly iterations: number;
  /** False when the fit stopped at maxIter before the KKT gap fell below tol. */
  readonly converged: boolean;
  /** Seconds spent computing kernel rows and in the whole solver (diagnostics). */
  readonly fitStats?: {
    kernelSeconds: number;
    solverSeconds: number;
    kernelRowsComputed: number;
    fullMatrix: boolean;
    /** Rows of the start point's sub-problem; 0: libsvm's start. */
    startSample: number;
  };
  private readonly center: Float32Array;
  private readonly set: NativePointSet;
  private readonly compute: ResolvedCompute;

  private constructor(state: FitState, set: NativePointSet, compute: ResolvedCompute, stats?: OneClassSVM['fitStats']) {
    this.supportVectors = state.supportVectors;
    this.dualCoef = state.dualCoef;
    this.supportIndices = state.supportIndices;
    this.rho = state.rho;
    this.gamma = state.gamma;
    this.nu = state.nu;
    this.normalize = state.normalize;
    this.center = state.center;
    this.objective = state.objective;
    this.iterations = state.iterations;
    this.converged = state.converged;
    this.set = set;
    this.compute = compute;
    if (stats) this.fitStats = stats;
  }

  get backend(): 'cpu' | 'cuda' {
    return this.set.backend;
  }

  /** scikit-learn's offset_: scoreSamples = decisionFunction + offset. */
  get offset(): number {
    return this.rho;
  }

  get nSupport(): number {
    return this.dualCoef.length;
  }

  get dim(): number {
    return this.supportVectors.cols;
  }

  static async fit(x: Matrix, options: OneClassSvmOptions = {}): Promise<OneClassSVM> {
    const train = expectMatrix('x', x, { minRows: 2 });
    if (train.rows >= 2 ** 31) throw invalidInput('x.rows', `x has ${train.rows} rows; at most 2^31 - 1 are supported`);
    const opts = detectorOptions(options, KEYS);
    const nu =
      opts.nu === undefined ? 0.5 : expectNumber('options.nu', opts.nu, { min: 0, max: 1, exclusiveMin: true });
    const gammaOption =
      opts.gamma === undefined
        ? 'scale'
        : typeof opts.gamma === 'number'
          ? expectPositiveNumber('options.gamma', opts.gamma)
          : expectOneOf('options.gamma', opts.gamma, GAMMA_RULES);
    const tol = opts.tol === undefined ? 1e-3 : expectPositiveNumber('options.tol', opts.tol);
    const maxIter = opts.maxIter === undefined ? -1 : expectInteger('options.maxIter', opts.maxIter, -1);
    const cacheMb = opts.cacheMb === undefined ? 1024 : expectPositiveNumber('options.cacheMb', opts.cacheMb);
    const shrinking = opts.shrinking === undefined ? true : expectBoolean('options.shrinking', opts.shrinking);
    const start = opts.start === undefined ? 'subproblem' : expectOneOf('options.start', opts.start, OCSVM_STARTS);
    const normalize = opts.normalize === undefined ? false : expectBoolean('options.normalize', opts.normalize);
    const compute = computeOptions('options', opts);
    const native = binding();
    // scikit-learn's 'scale': 1 / (n_features * X.var()), and 1.0 when the variance is zero;
    // 'droc' is ten times that. The native call takes the statistics of its own copy of x
    // (centring on the mean, and the gamma from the variance) before it fits: one copy of x.
    const fixedGamma =
      typeof gammaOption === 'number' ? gammaOption : gammaOption === 'auto' ? 1 / train.cols : undefined;
    const r = await callNative('OneClassSVM.fit', () =>
      native.fitOneClassSvm(train, {
        device: compute.device,
        l2normalize: normalize,
        statistics: true,
        ...(fixedGamma === undefined ? { gammaScale: gammaOption === 'droc' ? 10 : 1 } : { gamma: fixedGamma }),
        nu,
        tol,
        maxIter,
        cacheMb,
        shrinking,
        warmStartSample: start === 'subproblem' ? START_SAMPLE : 0,
        threads: compute.threads,
      }),
    );
    const stats = r.stats;
    if (!stats) throw new OneclassError('ERR_INTERNAL', 'OneClassSVM.fit: the native fit returned no statistics');
    // From the statistics the fit computed: no scan of x on the JS thread (issue 15).
    if (!normalize)
      warnOnPrecisionFromStats(
        stats,
        train,
        'OneClassSVM',
        'Scale the features to similar ranges, or use normalize: true.',
      );
    const gamma = r.gamma;
    const center = Float32Array.from(stats.mean);
    // The call read its own copy of x; the support vectors below are read from x again.
    if (train.data.length !== train.rows * train.cols) throw inputChangedDuringCall('x', 'OneClassSVM.fit');
    const support: number[] = [];
    r.alpha.forEach((a, i) => {
      if (a > 0) support.push(i);
    });
    const sv = new Float32Array(support.length * train.cols);
    support.forEach((row, k) => sv.set(train.data.subarray(row * train.cols, (row + 1) * train.cols), k * train.cols));
    const state: FitState = {
      supportVectors: { data: sv, rows: support.length, cols: train.cols },
      dualCoef: Float64Array.from(support, (i) => r.alpha[i]),
      supportIndices: Int32Array.from(support),
      rho: r.rho,
      gamma,
      nu,
      normalize,
      center,
      objective: r.objective,
      iterations: r.iterations,
      converged: r.converged,
    };
    return OneClassSVM.build(state, compute, {
      kernelSeconds: r.kernelSeconds,
      solverSeconds: r.solverSeconds,
      kernelRowsComputed: r.kernelRowsComputed,
      fullMatrix: r.fullMatrix,
      startSample: r.warmStartSample,
    });
  }

  private static async build(
    state: FitState,
    compute: ResolvedCompute,
    stats?: OneClassSVM['fitStats'],
  ): Promise<OneClassSVM> {
    const sv = state.supportVectors;
    const set = await callNative('OneClassSVM.fit', () =>
      binding().prepare(sv, { device: compute.device, l2normalize: state.normalize, center: state.center }),
    );
    return new OneClassSVM(state, set, compute, stats);
  }

  /** sum_i alpha_i K(x_i, y) - rho for each row of y: positive for inliers. */
  async decisionFunction(y: Matrix): Promise<Float64Array> {
    const q = expectMatrix('y', y, { minRows: 0, cols: this.dim });
    const sums = await callNative('OneClassSVM.decisionFunction', () =>
      binding().kernelWeightedSum(this.set, q, {
        gamma: this.gamma,
        weights: this.dualCoef,
        threads: this.compute.threads,
      }),
    );
    for (let i = 0; i < sums.length; i++) sums[i] -= this.rho;
    return sums;
  }

  /** decisionFunction + offset (scikit-learn's score_samples): the unshifted kernel sum. */
  async scoreSamples(y: Matrix): Promise<Float64Array> {
    const d = await this.decisionFunction(y);
    for (let i = 0; i < d.length; i++) d[i] += this.rho;
    return d;
  }

  /** +1 for inliers (decision > 0), -1 for outliers, as libsvm. */
  async predict(y: Matrix): Promise<Int8Array> {
    const d = await this.decisionFunction(y);
    return Int8Array.from(d, (v) => (v > 0 ? 1 : -1));
  }

  toBytes(): Uint8Array {
    return encodeModel(
      'OneClassSVM',
      {
        rho: this.rho,
        gamma: this.gamma,
        nu: this.nu,
        normalize: this.normalize,
        objective: this.objective,
        iterations: this.iterations,
        converged: this.converged,
      },
      {
        supportVectors: tensor(this.supportVectors.data, [this.supportVectors.rows, this.supportVectors.cols]),
        dualCoef: tensor(this.dualCoef),
        supportIndices: tensor(this.supportIndices),
        center: tensor(this.center),
      },
    );
  }

  static async fromBytes(bytes: Uint8Array, options: ComputeOptions = {}): Promise<OneClassSVM> {
    const { params, tensors } = decodeModel(bytes, 'OneClassSVM', [
      'supportVectors',
      'dualCoef',
      'supportIndices',
      'center',
    ]);
    const sv = matrixTensor(tensors, 'supportVectors', 'OneClassSVM', 1);
    const { dualCoef, supportIndices, center } = tensors;
    const bad = (why: string) => new OneclassError('ERR_MODEL_FORMAT', `Cannot read OneClassSVM model bytes: ${why}`);
    if (dualCoef.dtype !== 'F64' || dualCoef.data.length !== sv.rows)
      throw bad('dualCoef must be F64 with one value per support vector');
    if (supportIndices.dtype !== 'I32' || supportIndices.data.length !== sv.rows)
      throw bad('supportIndices must be I32 with one value per support vector');
    if (center.dtype !== 'F32' || center.data.length !== sv.cols)
      throw bad("center must be F32 of the support vectors' dimension");
    for (const key of ['rho', 'gamma', 'nu'] as const)
      if (typeof params[key] !== 'number' || !Number.isFinite(params[key])) throw bad(`${key} is missing`);
    if (!((params.gamma as number) > 0)) throw bad('gamma must be positive');
    const compute = restoreCompute(options);
    const state: FitState = {
      supportVectors: sv,
      dualCoef: dualCoef.data as Float64Array,
      supportIndices: supportIndices.data as Int32Array,
      rho: params.rho as number,
      gamma: params.gamma as number,
      nu: params.nu as number,
      normalize: params.normalize === true,
      center: center.data as Float32Array,
      objective: typeof params.objective === 'number' ? params.objective : Number.NaN,
      iterations: typeof params.iterations === 'number' ? params.iterations : 0,
      converged: params.converged === true,
    };
    return OneClassSVM.build(state, compute);
  }
}
