/**
 * Gaussian density (the "GDE" of the papers): mean and covariance fitted in float64, shrunk as
 * scikit-learn's LedoitWolf (default), by a fixed coefficient (ShrunkCovariance), or not at all
 * (then regCovar on the diagonal, as GaussianMixture(n_components=1, covariance_type='full')).
 * Scores are |L^-1 (y - mean)|^2 with covariance = L L^T: one float32 GEMM and a row norm,
 * never the cancelling expansion y'Py - 2 mu'Py + mu'P mu.
 */
import { callNative, OneclassError } from '../errors.js';
import { decodeModel, encodeModel } from '../io/model-bytes.js';
import { tensor } from '../io/safetensors.js';
import { binding, type NativeGaussian, type NativePointSet } from '../native.js';
import {
  expectBoolean,
  expectMatrix,
  expectNonNegativeNumber,
  expectNumber,
  expectOneOf,
  type Matrix,
} from '../validate.js';
import {
  COMPUTE_KEYS,
  computeOptions,
  type ComputeOptions,
  detectorOptions,
  type ResolvedCompute,
  restoreCompute,
} from './common.js';

export interface GaussianDensityOptions extends ComputeOptions {
  /** 'ledoit-wolf' (default), a coefficient in [0, 1], or 'none'. */
  shrinkage?: 'ledoit-wolf' | 'none' | number;
  /** Added to the covariance's diagonal after shrinkage. Default 1e-6 with 'none' (GaussianMixture's reg_covar), else 0. */
  regCovar?: number;
  /** L2-normalize every row first. Default false. */
  normalize?: boolean;
}

const KEYS = ['shrinkage', 'regCovar', 'normalize', ...COMPUTE_KEYS];
const LOG_2PI = Math.log(2 * Math.PI);

export class GaussianDensity {
  readonly dim: number;
  readonly normalize: boolean;
  /** The shrinkage coefficient used (Ledoit-Wolf's estimate when asked for). */
  readonly shrinkage: number;
  readonly regCovar: number;
  /** Mean (dim) and covariance (dim x dim, row-major) after shrinkage and regularization, float64. */
  readonly mean: Float64Array;
  readonly covariance: Float64Array;
  /** log det(covariance). */
  readonly logDet: number;
  private readonly set: NativePointSet;
  private readonly compute: ResolvedCompute;

  private constructor(
    fit: NativeGaussian,
    set: NativePointSet,
    normalize: boolean,
    regCovar: number,
    compute: ResolvedCompute,
  ) {
    this.dim = fit.mean.length;
    this.mean = fit.mean;
    this.covariance = fit.covariance;
    this.shrinkage = fit.shrinkage;
    this.logDet = fit.logDet;
    this.normalize = normalize;
    this.regCovar = regCovar;
    this.set = set;
    this.compute = compute;
  }

  get backend(): 'cpu' | 'cuda' {
    return this.set.backend;
  }

  static async fit(x: Matrix, options: GaussianDensityOptions = {}): Promise<GaussianDensity> {
    const train = expectMatrix('x', x, { minRows: 2 });
    const opts = detectorOptions(options, KEYS);
    const shrinkage = opts.shrinkage ?? 'ledoit-wolf';
    let kind: 'ledoit-wolf' | 'fixed' | 'none';
    let coefficient = 0;
    if (typeof shrinkage === 'number') {
      kind = 'fixed';
      coefficient = expectNumber('options.shrinkage', shrinkage, { min: 0, max: 1 });
    } else {
      kind = expectOneOf('options.shrinkage', shrinkage, ['ledoit-wolf', 'none'] as const);
    }
    const regCovar =
      opts.regCovar === undefined
        ? kind === 'none'
          ? 1e-6
          : 0
        : expectNonNegativeNumber('options.regCovar', opts.regCovar);
    const normalize = opts.normalize === undefined ? false : expectBoolean('options.normalize', opts.normalize);
    const compute = computeOptions('options', opts);
    const fit = await callNative('GaussianDensity.fit', () =>
      binding().fitGaussian(train, {
        shrinkageKind: kind,
        shrinkage: coefficient,
        regCovar,
        l2normalize: normalize,
        threads: compute.threads,
      }),
    );
    return GaussianDensity.build(fit, normalize, regCovar, compute);
  }

  private static async build(fit: NativeGaussian, normalize: boolean, regCovar: number, compute: ResolvedCompute) {
    const d = fit.mean.length;
    // Queries are normalized and centred; the whitening rows (L^-1) are used as they are.
    const set = await callNative('GaussianDensity.fit', () =>
      binding().prepare(
        { data: Float32Array.from(fit.choleskyInverse), rows: d, cols: d },
        { device: compute.device, l2normalize: normalize, center: Float32Array.from(fit.mean), transformRows: false },
      ),
    );
    return new GaussianDensity(fit, set, normalize, regCovar, compute);
  }

  /** Squared Mahalanobis distances (like scikit-learn's EmpiricalCovariance.mahalanobis). */
  async mahalanobis(y: Matrix): Promise<Float64Array> {
    const q = expectMatrix('y', y, { minRows: 0, cols: this.dim });
    return callNative('GaussianDensity.mahalanobis', () =>
      binding().projectedSquaredNorm(this.set, q, { threads: this.compute.threads }),
    );
  }

  /** Gaussian log-likelihood of each row (GaussianMixture.score_samples). Higher is more normal. */
  async scoreSamples(y: Matrix): Promise<Float64Array> {
    const d2 = await this.mahalanobis(y);
    const constant = this.dim * LOG_2PI + this.logDet;
    for (let i = 0; i < d2.length; i++) d2[i] = -0.5 * (constant + d2[i]);
    return d2;
  }

  toBytes(): Uint8Array {
    return encodeModel(
      'GaussianDensity',
      { shrinkage: this.shrinkage, regCovar: this.regCovar, normalize: this.normalize, dim: this.dim },
      { mean: tensor(this.mean), covariance: tensor(this.covariance, [this.dim, this.dim]) },
    );
  }

  static async fromBytes(bytes: Uint8Array, options: ComputeOptions = {}): Promise<GaussianDensity> {
    const { params, tensors } = decodeModel(bytes, 'GaussianDensity', ['mean', 'covariance']);
    const { mean, covariance } = tensors;
    const d = mean.shape[0];
    if (
      mean.dtype !== 'F64' ||
      mean.shape.length !== 1 ||
      d < 1 ||
      covariance.dtype !== 'F64' ||
      covariance.shape.join() !== `${d},${d}`
    ) {
      throw new OneclassError(
        'ERR_MODEL_FORMAT',
        'Cannot read GaussianDensity model bytes: mean must be F64 [d] and covariance F64 [d, d]',
      );
    }
    const compute = restoreCompute(options);
    const shrinkage = typeof params.shrinkage === 'number' ? params.shrinkage : 0;
    const fit = await callNative('GaussianDensity.fromBytes', () =>
      binding().factorGaussian(mean.data as Float64Array, covariance.data as Float64Array, { shrinkage }),
    );
    return GaussianDensity.build(
      fit,
      params.normalize === true,
      typeof params.regCovar === 'number' ? params.regCovar : 0,
      compute,
    );
  }
}
