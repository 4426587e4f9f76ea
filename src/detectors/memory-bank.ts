/**
 * A memory bank of patch features scored by nearest-neighbour distance (PatchCore, Roth et al.
 * 2022): the training rows, subsampled by the greedy k-center coreset (coreset.ts) unless told
 * otherwise, kept in a NearestNeighbors index. Scores follow the other detectors: higher is more
 * normal (minus the mean distance to the k nearest bank rows); PatchCore's anomaly score is the
 * distance itself (`kneighbors`).
 *
 * Sizes are checked before anything is allocated: a bank (or a coreset selection) that would need
 * more than options.maxMemory bytes is refused with ERR_OUT_OF_MEMORY.
 */
import { OneclassError } from '../errors.js';
import { decodeModel, encodeModel, matrixTensor } from '../io/model-bytes.js';
import { tensor } from '../io/safetensors.js';
import { expectInteger, expectKnownKeys, expectMatrix, expectOneOf, expectOptions, type Matrix } from '../validate.js';
import { COMPUTE_KEYS, computeOptions, type ComputeOptions, detectorOptions, type ResolvedCompute } from './common.js';
import { coresetCount, type CoresetSelection, kCenterGreedy, type KCenterOptions, projectionDim } from './coreset.js';
import { type Metric, METRICS, NearestNeighbors, type Neighbors } from './knn.js';
import { expectMaxMemory, requireMemory } from './memory-limit.js';

export interface CoresetOptions {
  /** Rows to keep. Give `count` or `ratio`. */
  count?: number;
  /** Fraction of the rows to keep, in (0, 1]. Default 0.1 when neither is given. */
  ratio?: number;
  /** Projection dimension for the selection, or 'none' (see KCenterOptions.projection). */
  projection?: number | 'none';
  seed?: number;
  start?: number;
}

export interface MemoryBankOptions extends ComputeOptions {
  /** Greedy k-center subsampling of the rows; false keeps them all. Default { ratio: 0.1 }. */
  coreset?: CoresetOptions | false;
  /** Default 'euclidean'. */
  metric?: Metric;
  /** Bytes the bank (and the selection) may use; default half the machine's memory. */
  maxMemory?: number;
  /** Progress of the coreset selection: (steps done, steps). */
  onProgress?: (done: number, total: number) => void;
  /** Cancels the coreset selection (ERR_ABORTED). */
  signal?: AbortSignal;
}

const KEYS = ['coreset', 'metric', 'maxMemory', 'onProgress', 'signal', ...COMPUTE_KEYS];
const CORESET_KEYS = ['count', 'ratio', 'projection', 'seed', 'start'];
/** While a bank is built it exists about five times over (ours, the index's, the addon's copy, transformed, packed). */
const BUILD_COPIES = 5;

interface BankInfo {
  sourceRows: number;
  projection: number;
  seed: number;
  coveringRadius: number;
}

export class MemoryBank {
  /** Rows in the bank. */
  readonly rows: number;
  readonly dim: number;
  readonly metric: Metric;
  /** Rows the bank was selected from. */
  readonly sourceRows: number;
  /** Coreset projection dimension (0: none, or no coreset) and seed. */
  readonly projection: number;
  readonly seed: number;
  /** Largest distance from a training row to the bank (projected space; 0 without a coreset). */
  readonly coveringRadius: number;
  /** The training rows kept (indices into the fitted matrix), when fitted here. */
  readonly selected?: Int32Array;
  private readonly bank: Float32Array;
  private readonly index: NearestNeighbors;

  private constructor(bank: Float32Array, index: NearestNeighbors, info: BankInfo, selected?: Int32Array) {
    this.bank = bank;
    this.index = index;
    this.rows = index.nSamples;
    this.dim = index.dim;
    this.metric = index.metric;
    this.sourceRows = info.sourceRows;
    this.projection = info.projection;
    this.seed = info.seed;
    this.coveringRadius = info.coveringRadius;
    if (selected) this.selected = selected;
  }

  /** rows / sourceRows. */
  get coresetRatio(): number {
    return this.rows / this.sourceRows;
  }

  get backend(): 'cpu' | 'cuda' {
    return this.index.backend;
  }

  static async fit(x: Matrix, options: MemoryBankOptions = {}): Promise<MemoryBank> {
    const m = expectMatrix('x', x, { minRows: 1 });
    const opts = detectorOptions(options, KEYS);
    const metric = opts.metric === undefined ? 'euclidean' : expectOneOf('options.metric', opts.metric, METRICS);
    const maxMemory = expectMaxMemory('options.maxMemory', opts.maxMemory);
    const compute = computeOptions('options', opts);
    let coreset: Record<string, unknown> | false = { ratio: 0.1 };
    if (opts.coreset !== undefined) {
      if (opts.coreset === false) coreset = false;
      else {
        coreset = expectOptions('options.coreset', opts.coreset);
        expectKnownKeys('options.coreset', coreset, CORESET_KEYS);
        if (coreset.count === undefined && coreset.ratio === undefined) coreset = { ...coreset, ratio: 0.1 };
      }
    }
    let selection: CoresetSelection | undefined;
    let bank: Float32Array;
    let rows = m.rows;
    if (coreset) {
      // Checked here, so errors name options.coreset.*, and the bank's size before the selection runs.
      const count = coresetCount('options.coreset', coreset, m.rows);
      const projection = projectionDim('options.coreset.projection', coreset.projection, m.cols);
      const seed =
        coreset.seed === undefined
          ? 0
          : expectInteger('options.coreset.seed', coreset.seed, 0, Number.MAX_SAFE_INTEGER);
      const start =
        coreset.start === undefined ? 0 : expectInteger('options.coreset.start', coreset.start, 0, m.rows - 1);
      requireMemory(
        'options.maxMemory',
        `a bank of ${count} x ${m.cols}`,
        BUILD_COPIES * count * m.cols * 4,
        maxMemory,
      );
      const k: KCenterOptions = {
        count,
        projection: projection || 'none',
        seed,
        start,
        device: compute.device,
        threads: compute.threads,
        maxMemory,
        onProgress: opts.onProgress as KCenterOptions['onProgress'],
        signal: opts.signal as AbortSignal | undefined,
      };
      selection = await kCenterGreedy(m, k);
      rows = selection.indices.length;
      bank = new Float32Array(rows * m.cols);
      for (let i = 0; i < rows; i++) {
        const r = selection.indices[i];
        bank.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols);
      }
    } else {
      requireMemory('options.maxMemory', `a bank of ${rows} x ${m.cols}`, BUILD_COPIES * rows * m.cols * 4, maxMemory);
      bank = m.data.slice();
    }
    const index = await NearestNeighbors.fit({ data: bank, rows, cols: m.cols }, { metric, ...compute });
    return new MemoryBank(
      bank,
      index,
      {
        sourceRows: m.rows,
        projection: selection?.projection ?? 0,
        seed: coreset ? Number(coreset.seed ?? 0) : 0,
        coveringRadius: selection?.coveringRadius ?? 0,
      },
      selection?.indices,
    );
  }

  /** The k nearest bank rows of each row of y (distances ascending). */
  kneighbors(y: Matrix, k = 1): Promise<Neighbors> {
    return this.index.kneighbors(y, k);
  }

  /** Minus the mean distance to the k nearest bank rows: higher is more normal. */
  scoreSamples(y: Matrix, k = 1): Promise<Float64Array> {
    return this.index.scoreSamples(y, k);
  }

  toBytes(): Uint8Array {
    return encodeModel(
      'MemoryBank',
      {
        metric: this.metric,
        sourceRows: this.sourceRows,
        projection: this.projection,
        seed: this.seed,
        coveringRadius: this.coveringRadius,
      },
      { bank: tensor(this.bank, [this.rows, this.dim]) },
    );
  }

  static async fromBytes(
    bytes: Uint8Array,
    options: ComputeOptions & { maxMemory?: number } = {},
  ): Promise<MemoryBank> {
    const { params, tensors } = decodeModel(bytes, 'MemoryBank', ['bank']);
    const t = matrixTensor(tensors, 'bank', 'MemoryBank', 1);
    const metric = expectOneOf('metric', params.metric, METRICS);
    const param = (name: string, min: number, integer = true) => {
      const v = params[name];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isSafeInteger(v)))
        throw new OneclassError(
          'ERR_MODEL_FORMAT',
          `Cannot read MemoryBank model bytes: '${name}' is missing or invalid`,
        );
      return v;
    };
    const info: BankInfo = {
      sourceRows: param('sourceRows', t.rows),
      projection: param('projection', 0),
      seed: param('seed', 0),
      coveringRadius: param('coveringRadius', 0, false),
    };
    const opts = detectorOptions(options, [...COMPUTE_KEYS, 'maxMemory']);
    const maxMemory = expectMaxMemory('options.maxMemory', opts.maxMemory);
    requireMemory(
      'options.maxMemory',
      `a bank of ${t.rows} x ${t.cols}`,
      BUILD_COPIES * t.rows * t.cols * 4,
      maxMemory,
    );
    const compute: ResolvedCompute = computeOptions('options', opts);
    const index = await NearestNeighbors.fit(t, { metric, ...compute });
    return new MemoryBank(t.data, index, info);
  }
}
