/**
 * Gaussian kernel density, scored exactly as scikit-learn's
 * KernelDensity(kernel='gaussian').score_samples: the log of the mean of normalized Gaussian
 * kernels, log( (1/M) sum_j N(y; x_j, h^2 I) ). Higher is more normal.
 *
 * The native kernel sum is one fused GEMM + log-sum-exp over the training set (never an N x M
 * matrix), on data centred on the training mean so float32 keeps its accuracy.
 */
import { callNative, invalidInput, OneclassError } from '../errors.js';
import { decodeModel, encodeModel, matrixTensor } from '../io/model-bytes.js';
import { tensor } from '../io/safetensors.js';
import { binding, type NativePointSet } from '../native.js';
import { expectBoolean, expectMatrix, expectOneOf, expectPositiveNumber, type Matrix } from '../validate.js';
import {
  centredPointSet,
  COMPUTE_KEYS,
  computeOptions,
  type ComputeOptions,
  detectorOptions,
  ownCopy,
  type ResolvedCompute,
  restoreCompute,
  warnOnPrecisionLoss,
} from './common.js';

/**
 * 'scott': n^(-1/(d+4)); 'silverman': (n (d+2) / 4)^(-1/(d+4)) (scikit-learn's rules, which
 * assume standardized data); 'droc': the rule of the official deep one-class code,
 * gamma = 10 / (Var(X) * d) with Var over all entries of the (normalized) training matrix and
 * h = 1 / sqrt(2 gamma).
 */
export type BandwidthRule = 'scott' | 'silverman' | 'droc';
export const BANDWIDTH_RULES: readonly BandwidthRule[] = ['scott', 'silverman', 'droc'];

export interface KernelDensityOptions extends ComputeOptions {
  /** A positive number, or a rule computed from the training data. */
  bandwidth: number | BandwidthRule;
  /** L2-normalize every row (training and scored) first, as the papers do. Default false. */
  normalize?: boolean;
}

const KEYS = ['bandwidth', 'normalize', ...COMPUTE_KEYS];

export function bandwidthFromRule(rule: BandwidthRule, rows: number, cols: number, variance: number): number {
  switch (rule) {
    case 'scott':
      return rows ** (-1 / (cols + 4));
    case 'silverman':
      return ((rows * (cols + 2)) / 4) ** (-1 / (cols + 4));
    case 'droc': {
      if (!(variance > 0)) {
        throw invalidInput('options.bandwidth', "bandwidth 'droc' needs training data with non-zero variance");
      }
      const gamma = 10 / (variance * cols);
      return 1 / Math.sqrt(2 * gamma);
    }
  }
}

export class KernelDensity {
  /** The bandwidth h used (the rule's value when a rule was given). */
  readonly bandwidth: number;
  readonly dim: number;
  readonly nSamples: number;
  readonly normalize: boolean;
  private readonly set: NativePointSet;
  private readonly train: Float32Array;
  private readonly compute: ResolvedCompute;
  private readonly bandwidthOption: number | BandwidthRule;

  private constructor(
    set: NativePointSet,
    train: Float32Array,
    bandwidth: number,
    option: number | BandwidthRule,
    normalize: boolean,
    compute: ResolvedCompute,
  ) {
    this.set = set;
    this.train = train;
    this.bandwidth = bandwidth;
    this.bandwidthOption = option;
    this.dim = set.cols;
    this.nSamples = set.rows;
    this.normalize = normalize;
    this.compute = compute;
  }

  /** The backend the model runs on ('cpu' or 'cuda'). */
  get backend(): 'cpu' | 'cuda' {
    return this.set.backend;
  }

  static async fit(x: Matrix, options: KernelDensityOptions): Promise<KernelDensity> {
    const train = expectMatrix('x', x, { minRows: 2 });
    const opts = detectorOptions(options, KEYS);
    const option =
      typeof opts.bandwidth === 'number'
        ? expectPositiveNumber('options.bandwidth', opts.bandwidth)
        : expectOneOf('options.bandwidth', opts.bandwidth, BANDWIDTH_RULES);
    const normalize = opts.normalize === undefined ? false : expectBoolean('options.normalize', opts.normalize);
    if (!normalize)
      await warnOnPrecisionLoss(
        train,
        'KernelDensity',
        'Scale the features to similar ranges, or use normalize: true.',
      );
    return KernelDensity.build(
      ownCopy(train.data),
      train.rows,
      train.cols,
      option,
      normalize,
      computeOptions('options', opts),
    );
  }

  /** `bandwidth` overrides the rule's value (a restored model keeps the value it was fitted with). */
  private static async build(
    data: Float32Array,
    rows: number,
    cols: number,
    option: number | BandwidthRule,
    normalize: boolean,
    compute: ResolvedCompute,
    bandwidth?: number,
  ): Promise<KernelDensity> {
    const { set, variance } = await centredPointSet(
      'KernelDensity.fit',
      { data, rows, cols },
      normalize,
      compute.device,
    );
    const h = bandwidth ?? (typeof option === 'number' ? option : bandwidthFromRule(option, rows, cols, variance));
    return new KernelDensity(set, data, h, option, normalize, compute);
  }

  /** Log-density of each row of y under the model (natural log), like scikit-learn's score_samples. */
  async scoreSamples(y: Matrix): Promise<Float64Array> {
    const q = expectMatrix('y', y, { minRows: 0, cols: this.dim });
    const h = this.bandwidth;
    const logSum = await callNative('KernelDensity.scoreSamples', () =>
      binding().kernelLogSum(this.set, q, { gamma: 1 / (2 * h * h), threads: this.compute.threads }),
    );
    const constant = -Math.log(this.nSamples) - (this.dim / 2) * Math.log(2 * Math.PI) - this.dim * Math.log(h);
    for (let i = 0; i < logSum.length; i++) logSum[i] += constant;
    return logSum;
  }

  /** The fitted model as safetensors bytes (training matrix + parameters). */
  toBytes(): Uint8Array {
    return encodeModel(
      'KernelDensity',
      {
        bandwidth: this.bandwidth,
        bandwidthOption: this.bandwidthOption,
        normalize: this.normalize,
        rows: this.nSamples,
        cols: this.dim,
      },
      { train: tensor(this.train, [this.nSamples, this.dim]) },
    );
  }

  static async fromBytes(bytes: Uint8Array, options: ComputeOptions = {}): Promise<KernelDensity> {
    const { params, tensors } = decodeModel(bytes, 'KernelDensity', ['train']);
    const t = matrixTensor(tensors, 'train', 'KernelDensity', 2);
    const bandwidth = params.bandwidth;
    if (typeof bandwidth !== 'number' || !(bandwidth > 0))
      throw new OneclassError('ERR_MODEL_FORMAT', 'KernelDensity model bytes: invalid bandwidth');
    const option = (BANDWIDTH_RULES as readonly unknown[]).includes(params.bandwidthOption)
      ? (params.bandwidthOption as BandwidthRule)
      : bandwidth;
    const compute = restoreCompute(options);
    return KernelDensity.build(t.data, t.rows, t.cols, option, params.normalize === true, compute, bandwidth);
  }
}
