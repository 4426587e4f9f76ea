/**
 * A Gaussian per position of a feature grid (PaDiM, Defard et al. 2021): for every position, the
 * mean and covariance of the training images' features there, accumulated in float64, with
 * `regularization` added to the diagonal (PaDiM's 0.01 I) after the unbiased (n - 1) covariance,
 * factored by Cholesky. Scores are squared Mahalanobis distances of every (image, position)
 * feature, computed natively batched over positions (native/core/src/positional_gaussian.cpp;
 * CUDA too), or the Gaussian log-likelihood (higher is more normal), as GaussianDensity.
 *
 * Memory is positions x dim x dim (float64 covariances plus float32 factors): more than
 * options.maxMemory (default half the machine's memory) is refused with ERR_OUT_OF_MEMORY before
 * anything is allocated.
 */
import { callNative, OneclassError } from '../errors.js';
import { decodeModel, encodeModel } from '../io/model-bytes.js';
import { tensor } from '../io/safetensors.js';
import { binding, type NativePositionalSet } from '../native.js';
import { expectNonNegativeNumber } from '../validate.js';
import { COMPUTE_KEYS, computeOptions, type ComputeOptions, detectorOptions, type ResolvedCompute } from './common.js';
import { expectFeatureGrids, type FeatureGrids } from './feature-grids.js';
import { expectMaxMemory, rethrowOverLimit } from './memory-limit.js';

export interface PositionalGaussianOptions extends ComputeOptions {
  /** Added to every covariance's diagonal. Default 0.01 (PaDiM). */
  regularization?: number;
  /** Bytes the statistics may use. Default: half the machine's memory. */
  maxMemory?: number;
}

const KEYS = ['regularization', 'maxMemory', ...COMPUTE_KEYS];
const LOG_2PI = Math.log(2 * Math.PI);

export class PositionalGaussian {
  readonly positions: number;
  readonly dim: number;
  readonly regularization: number;
  /** positions x dim means and positions x dim x dim covariances (regularized), float64. */
  readonly mean: Float64Array;
  readonly covariance: Float64Array;
  /** log det of each position's covariance. */
  readonly logDet: Float64Array;
  private readonly set: NativePositionalSet;
  private readonly compute: ResolvedCompute;

  private constructor(
    set: NativePositionalSet,
    mean: Float64Array,
    covariance: Float64Array,
    logDet: Float64Array,
    regularization: number,
    compute: ResolvedCompute,
  ) {
    this.set = set;
    this.positions = set.positions;
    this.dim = set.dim;
    this.mean = mean;
    this.covariance = covariance;
    this.logDet = logDet;
    this.regularization = regularization;
    this.compute = compute;
  }

  get backend(): 'cpu' | 'cuda' {
    return this.set.backend;
  }

  /** Fits on features of at least 2 images. */
  static async fit(features: FeatureGrids, options: PositionalGaussianOptions = {}): Promise<PositionalGaussian> {
    const f = expectFeatureGrids('features', features, { minImages: 2 });
    const opts = detectorOptions(options, KEYS);
    const regularization =
      opts.regularization === undefined ? 0.01 : expectNonNegativeNumber('options.regularization', opts.regularization);
    const maxBytes = expectMaxMemory('options.maxMemory', opts.maxMemory);
    const compute = computeOptions('options', opts);
    const r = await callNative('PositionalGaussian.fit', () =>
      binding().fitPositionalGaussian(f, {
        regularization,
        device: compute.device,
        threads: compute.threads,
        maxBytes,
      }),
    ).catch((error) => rethrowOverLimit('options.maxMemory', error));
    return new PositionalGaussian(r.set, r.mean, r.covariance, r.logDet, regularization, compute);
  }

  /** Squared Mahalanobis distance of every feature to its position's Gaussian: images x positions. */
  async mahalanobis(features: FeatureGrids): Promise<Float64Array> {
    const f = expectFeatureGrids('features', features, { minImages: 0, positions: this.positions, dim: this.dim });
    return callNative('PositionalGaussian.mahalanobis', () =>
      binding().scorePositionalGaussian(this.set, f, { threads: this.compute.threads }),
    );
  }

  /** Gaussian log-likelihood of every feature (images x positions): higher is more normal. */
  async scoreSamples(features: FeatureGrids): Promise<Float64Array> {
    const d2 = await this.mahalanobis(features);
    const p = this.positions;
    for (let i = 0; i < d2.length; i++) d2[i] = -0.5 * (this.dim * LOG_2PI + this.logDet[i % p] + d2[i]);
    return d2;
  }

  toBytes(): Uint8Array {
    return encodeModel(
      'PositionalGaussian',
      { positions: this.positions, dim: this.dim, regularization: this.regularization },
      {
        mean: tensor(this.mean, [this.positions, this.dim]),
        covariance: tensor(this.covariance, [this.positions, this.dim, this.dim]),
      },
    );
  }

  static async fromBytes(
    bytes: Uint8Array,
    options: ComputeOptions & { maxMemory?: number } = {},
  ): Promise<PositionalGaussian> {
    const { params, tensors } = decodeModel(bytes, 'PositionalGaussian', ['mean', 'covariance']);
    const { mean, covariance } = tensors;
    const [p, d] = mean.shape;
    if (
      mean.dtype !== 'F64' ||
      mean.shape.length !== 2 ||
      !(p >= 1 && d >= 1) ||
      covariance.dtype !== 'F64' ||
      covariance.shape.join() !== `${p},${d},${d}`
    ) {
      throw new OneclassError(
        'ERR_MODEL_FORMAT',
        'Cannot read PositionalGaussian model bytes: mean must be F64 [positions, dim] and covariance F64 [positions, dim, dim]',
      );
    }
    const regularization = typeof params.regularization === 'number' ? params.regularization : 0.01;
    const opts = detectorOptions(options, [...COMPUTE_KEYS, 'maxMemory']);
    const maxBytes = expectMaxMemory('options.maxMemory', opts.maxMemory);
    const compute = computeOptions('options', opts);
    const r = await callNative('PositionalGaussian.fromBytes', () =>
      binding().preparePositionalGaussian(mean.data as Float64Array, covariance.data as Float64Array, {
        positions: p,
        dim: d,
        device: compute.device,
        threads: compute.threads,
        maxBytes,
      }),
    ).catch((error) => rethrowOverLimit('options.maxMemory', error));
    return new PositionalGaussian(
      r.set,
      mean.data as Float64Array,
      covariance.data as Float64Array,
      r.logDet,
      regularization,
      compute,
    );
  }
}
