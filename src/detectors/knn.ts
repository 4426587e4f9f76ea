/**
 * Nearest-neighbour distances to the training set (the 1-NN baseline of the papers, and the
 * memory-bank scoring of PatchCore-style detectors). Candidates are found with the fused
 * GEMM + top-k engine, then ranked by distances recomputed exactly in float64.
 *
 * metric 'euclidean': |x - y|; 'cosine': 1 - cos(x, y), scikit-learn's cosine distance (a row of
 * norm zero is at distance 1 from every row, as there).
 */
import { callNative } from '../errors.js';
import { decodeModel, encodeModel, matrixTensor } from '../io/model-bytes.js';
import { tensor } from '../io/safetensors.js';
import { binding, type NativePointSet } from '../native.js';
import { expectInteger, expectMatrix, expectOneOf, expectResultSize, type Matrix } from '../validate.js';
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

export type Metric = 'euclidean' | 'cosine';
export const METRICS: readonly Metric[] = ['euclidean', 'cosine'];

export interface NearestNeighborsOptions extends ComputeOptions {
  /** Default 'euclidean'. */
  metric?: Metric;
}

export interface Neighbors {
  /** rows x k distances, ascending within each row. */
  distances: Float64Array;
  /** rows x k indices into the training rows. */
  indices: Int32Array;
  rows: number;
  k: number;
}

const KEYS = ['metric', ...COMPUTE_KEYS];

export class NearestNeighbors {
  readonly dim: number;
  readonly nSamples: number;
  readonly metric: Metric;
  private readonly set: NativePointSet;
  private readonly train: Float32Array;
  private readonly compute: ResolvedCompute;

  private constructor(set: NativePointSet, train: Float32Array, metric: Metric, compute: ResolvedCompute) {
    this.set = set;
    this.train = train;
    this.metric = metric;
    this.compute = compute;
    this.dim = set.cols;
    this.nSamples = set.rows;
  }

  get backend(): 'cpu' | 'cuda' {
    return this.set.backend;
  }

  static async fit(x: Matrix, options: NearestNeighborsOptions = {}): Promise<NearestNeighbors> {
    const train = expectMatrix('x', x, { minRows: 1 });
    const opts = detectorOptions(options, KEYS);
    const metric = opts.metric === undefined ? 'euclidean' : expectOneOf('options.metric', opts.metric, METRICS);
    if (metric === 'euclidean')
      await warnOnPrecisionLoss(
        train,
        'NearestNeighbors',
        "Scale the features to similar ranges, or use metric 'cosine'.",
      );
    return NearestNeighbors.build(ownCopy(train.data), train.rows, train.cols, metric, computeOptions('options', opts));
  }

  private static async build(data: Float32Array, rows: number, cols: number, metric: Metric, compute: ResolvedCompute) {
    const normalize = metric === 'cosine';
    const { set } = await centredPointSet('NearestNeighbors.fit', { data, rows, cols }, normalize, compute.device);
    return new NearestNeighbors(set, data, metric, compute);
  }

  /** The k nearest training rows of each row of y. */
  async kneighbors(y: Matrix, k = 1): Promise<Neighbors> {
    const q = expectMatrix('y', y, { minRows: 0, cols: this.dim });
    expectInteger('k', k, 1, this.nSamples);
    expectResultSize('kneighbors', q.rows * k);
    const r = await callNative('NearestNeighbors.kneighbors', () =>
      binding().nearest(this.set, q, { k, threads: this.compute.threads }),
    );
    // Native distances are squared Euclidean, or already cosine distances for 'cosine'.
    const distances = r.distances;
    if (this.metric === 'euclidean') for (let i = 0; i < distances.length; i++) distances[i] = Math.sqrt(distances[i]);
    return { distances, indices: r.indices, rows: q.rows, k };
  }

  /** Minus the mean distance to the k nearest training rows: higher is more normal. */
  async scoreSamples(y: Matrix, k = 1): Promise<Float64Array> {
    const { distances, rows } = await this.kneighbors(y, k);
    const out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += distances[i * k + t];
      out[i] = -s / k;
    }
    return out;
  }

  toBytes(): Uint8Array {
    return encodeModel(
      'NearestNeighbors',
      { metric: this.metric },
      { train: tensor(this.train, [this.nSamples, this.dim]) },
    );
  }

  static async fromBytes(bytes: Uint8Array, options: ComputeOptions = {}): Promise<NearestNeighbors> {
    const { params, tensors } = decodeModel(bytes, 'NearestNeighbors', ['train']);
    const t = matrixTensor(tensors, 'train', 'NearestNeighbors', 1);
    const metric = expectOneOf('metric', params.metric, METRICS);
    return NearestNeighbors.build(t.data, t.rows, t.cols, metric, restoreCompute(options));
  }
}
