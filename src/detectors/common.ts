/** Options shared by every detector, parsed once, and the steps every detector's fit shares. */
import { callNative } from '../errors.js';
import { binding, type NativeColumnStats, type NativePointSet } from '../native.js';
import { type Device, expectDevice, expectKnownKeys, expectOptions, expectThreads, type Matrix } from '../validate.js';

export interface ComputeOptions {
  /** 'auto' (default): CUDA when a device is usable, else CPU. 'cuda' fails when it is not. */
  device?: Device;
  /** CPU threads; 0 or undefined = all cores. Ignored on CUDA. */
  threads?: number;
}

export interface ResolvedCompute {
  device: Device;
  threads: number;
}

export function computeOptions(path: string, options: Record<string, unknown>): ResolvedCompute {
  return {
    device: expectDevice(`${path}.device`, options.device),
    threads: expectThreads(`${path}.threads`, options.threads),
  };
}

export const COMPUTE_KEYS = ['device', 'threads'] as const;

/** A detector's `options` argument: an object (or undefined) holding only the `known` keys. */
export function detectorOptions(options: unknown, known: readonly string[]): Record<string, unknown> {
  const opts = expectOptions('options', options);
  expectKnownKeys('options', opts, known);
  return opts;
}

/** The options of fromBytes: a restored model takes only where it runs. */
export function restoreCompute(options: unknown): ResolvedCompute {
  return computeOptions('options', detectorOptions(options, COMPUTE_KEYS));
}

/**
 * The training rows as a native point set, centred on their mean (after L2 normalization when
 * asked): centring does not change distances but keeps the float32 GEMM expansion accurate.
 * Returns the column statistics too (the bandwidth and gamma rules use the variance).
 */
export async function centredPointSet(
  caller: string,
  x: Matrix,
  normalize: boolean,
  device: Device,
): Promise<{ set: NativePointSet; variance: number }> {
  const native = binding();
  const stats = await callNative(caller, () => native.columnStats(x, { l2normalize: normalize }));
  const set = await callNative(caller, () =>
    native.prepare(x, { device, l2normalize: normalize, center: Float32Array.from(stats.mean) }),
  );
  return { set, variance: stats.variance };
}

/** Copies the training matrix so later changes to the caller's array cannot alter the model. */
export function ownCopy(data: Float32Array): Float32Array {
  return data.slice();
}

/** float32's unit roundoff: distances by the GEMM identity |x|^2 + |y|^2 - 2xy lose this much of |x|^2. */
const FLOAT32_EPSILON = 2 ** -24;
/** Warn when the expected error of a squared distance exceeds this fraction of a typical one. */
const PRECISION_TOLERANCE = 1e-3;
/** Values scanned between two turns of the event loop. */
const SCAN_CHUNK = 1 << 20;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Warns (process warning ONECLASS_FLOAT32_PRECISION) when distances on `x` will lose most of
 * their precision in float32: the detectors compute squared distances as |x|^2 + |y|^2 - 2xy on
 * centred rows, whose rounding error is about 2^-24 times the squared row norms. Features of very
 * different magnitudes (one value of 1e6 among values in [0, 1]) make every centred norm huge
 * next to the distances between rows: 1-NN distances moved from 0.087 to 0.474. Compared: the
 * median centred squared norm against cols x the median column variance (a typical squared
 * distance that one wild column cannot inflate). Scanned in chunks between turns of the loop.
 */
export async function warnOnPrecisionLoss(x: Matrix, detector: string, remedy: string): Promise<void> {
  const { data, rows, cols } = x;
  if (rows < 2) return;
  const mean = new Float64Array(cols);
  const chunkRows = Math.max(1, Math.floor(SCAN_CHUNK / cols));
  let largest = 0;
  for (let r0 = 0; r0 < rows; r0 += chunkRows) {
    for (let r = r0; r < Math.min(rows, r0 + chunkRows); r++)
      for (let j = 0; j < cols; j++) {
        const v = data[r * cols + j];
        mean[j] += v;
        largest = Math.max(largest, Math.abs(v));
      }
    await yieldToEventLoop();
  }
  for (let j = 0; j < cols; j++) mean[j] /= rows;
  const norms = new Float64Array(rows);
  const variance = new Float64Array(cols);
  for (let r0 = 0; r0 < rows; r0 += chunkRows) {
    for (let r = r0; r < Math.min(rows, r0 + chunkRows); r++) {
      let n = 0;
      for (let j = 0; j < cols; j++) {
        const d = data[r * cols + j] - mean[j];
        n += d * d;
        variance[j] += d * d;
      }
      norms[r] = n;
    }
    await yieldToEventLoop();
  }
  const median = (a: Float64Array) => a.sort()[Math.floor(a.length / 2)];
  warnOnPrecisionStats(largest, median(variance), median(norms), rows, cols, detector, remedy);
}

/**
 * warnOnPrecisionLoss from statistics the native columnStats call already computed (the same
 * quantities, summed in another order), so a fit that needs those statistics anyway does not scan
 * its data a second time on the JS thread.
 */
export function warnOnPrecisionFromStats(stats: NativeColumnStats, x: Matrix, detector: string, remedy: string): void {
  if (x.rows < 2) return;
  warnOnPrecisionStats(
    stats.largestAbs,
    stats.medianColumnDeviation,
    stats.medianRowDeviation,
    x.rows,
    x.cols,
    detector,
    remedy,
  );
}

function warnOnPrecisionStats(
  largest: number,
  medianColumnDeviation: number,
  medianRowDeviation: number,
  rows: number,
  cols: number,
  detector: string,
  remedy: string,
): void {
  const typicalDistance = cols * (medianColumnDeviation / rows);
  const error = 2 * FLOAT32_EPSILON * medianRowDeviation;
  if (error > PRECISION_TOLERANCE * typicalDistance) {
    process.emitWarning(
      `${detector}: the features span very different magnitudes (largest |value| ${largest.toExponential(1)}); ` +
        `float32 distances will have errors of about ${error.toExponential(1)} against typical squared distances of ` +
        `${typicalDistance.toExponential(1)}. ${remedy}`,
      { code: 'ONECLASS_FLOAT32_PRECISION' },
    );
  }
}
