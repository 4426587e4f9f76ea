/**
 * Greedy k-center coreset selection: the subsampling of PatchCore's memory bank (Roth et al. 2022).
 * Rows are mapped by a seeded Gaussian random projection (optional), then, from row `start`, each
 * step selects the unselected row farthest from the rows selected so far (squared Euclidean
 * distance in float64, ties to the lowest index). The selection equals a float64 numpy
 * implementation of the same definition (python-export/refs/ref_coreset.py) up to float64
 * rounding, which only matters for distances equal to 1e-15 relative.
 *
 * The work runs natively off the JS thread (native/core/cpu/coreset_cpu.cpp: exact, pruned by the
 * triangle inequality and partial distances; CUDA: one pass per step). Progress is polled from a
 * SharedArrayBuffer the native side writes; an AbortSignal stops it between two steps.
 */
import { callNative, invalidInput, OneclassError } from '../errors.js';
import { binding } from '../native.js';
import { expectInteger, expectMatrix, expectNumber, type Matrix } from '../validate.js';
import { COMPUTE_KEYS, computeOptions, type ComputeOptions, detectorOptions } from './common.js';
import { expectMaxMemory, rethrowOverLimit } from './memory-limit.js';

export interface KCenterOptions extends ComputeOptions {
  /** Rows to select. Give `count` or `ratio`. */
  count?: number;
  /** Fraction of the rows to select, in (0, 1]: count = max(1, floor(ratio * rows)). */
  ratio?: number;
  /**
   * Dimension of the Gaussian random projection distances are measured in, or 'none' for the rows
   * as given. Default: 128 when the rows have more than 128 columns, else 'none'.
   */
  projection?: number | 'none';
  /** Seed of the projection (an integer in [0, 2^53]). Default 0. */
  seed?: number;
  /** The first selected row. Default 0. */
  start?: number;
  /** Bytes the selection may allocate (its copy of the rows, projected rows, bookkeeping). Default: half the machine's memory. */
  maxMemory?: number;
  /** Called with (steps done, count) about every 100 ms while the selection runs, and once at the end. */
  onProgress?: (done: number, total: number) => void;
  /** Cancels the selection (rejects with ERR_ABORTED). */
  signal?: AbortSignal;
}

export interface CoresetSelection {
  /** The selected rows, in selection order. */
  indices: Int32Array;
  /** The largest distance from any row to its nearest selected row, in the projected space. */
  coveringRadius: number;
  /** The projected dimension used (0: none). */
  projection: number;
  /** Row-to-row distances computed (a plain greedy computes rows x count). */
  distanceEvaluations: number;
  backend: 'cpu' | 'cuda';
}

export const DEFAULT_PROJECTION = 128;
const KEYS = ['count', 'ratio', 'projection', 'seed', 'start', 'maxMemory', 'onProgress', 'signal', ...COMPUTE_KEYS];
const POLL_MS = 100;

/** The number of rows options.count or options.ratio asks for, out of `rows`. */
export function coresetCount(path: string, options: { count?: unknown; ratio?: unknown }, rows: number): number {
  if (options.count !== undefined && options.ratio !== undefined)
    throw invalidInput(path, `Expected either ${path}.count or ${path}.ratio, not both`);
  if (options.count !== undefined) return expectInteger(`${path}.count`, options.count, 1, rows);
  if (options.ratio === undefined) throw invalidInput(path, `Expected ${path}.count or ${path}.ratio`);
  const ratio = expectNumber(`${path}.ratio`, options.ratio, { min: 0, max: 1, exclusiveMin: true });
  return Math.max(1, Math.floor(ratio * rows));
}

/** options.projection as a dimension (0: none). */
export function projectionDim(path: string, value: unknown, cols: number): number {
  if (value === undefined) return cols > DEFAULT_PROJECTION ? DEFAULT_PROJECTION : 0;
  if (value === 'none') return 0;
  return expectInteger(path, value, 1, 65536);
}

/**
 * The Gaussian random projection the selection uses: outDim x inDim, row-major, entries
 * N(0, 1/outDim) from SplitMix64 and Box-Muller (native/core/include/oneclass/coreset.h documents
 * the generator; python-export/refs/ref_coreset.py reproduces it).
 */
export function gaussianProjection(outDim: number, inDim: number, seed = 0): Float64Array {
  expectInteger('outDim', outDim, 1, 65536);
  expectInteger('inDim', inDim, 1, 2 ** 20);
  expectInteger('seed', seed, 0, Number.MAX_SAFE_INTEGER);
  return binding().gaussianProjection({ outDim, inDim, seed });
}

/** Selects a k-center coreset of the rows of x. */
export async function kCenterGreedy(x: Matrix, options: KCenterOptions): Promise<CoresetSelection> {
  const m = expectMatrix('x', x, { minRows: 1 });
  if (m.rows >= 2 ** 31 - 1) throw invalidInput('x.rows', `Expected at most 2^31 - 2 rows for x but it has ${m.rows}`);
  const opts = detectorOptions(options, KEYS);
  const count = coresetCount('options', opts, m.rows);
  const projection = projectionDim('options.projection', opts.projection, m.cols);
  const seed = opts.seed === undefined ? 0 : expectInteger('options.seed', opts.seed, 0, Number.MAX_SAFE_INTEGER);
  const start = opts.start === undefined ? 0 : expectInteger('options.start', opts.start, 0, m.rows - 1);
  const maxBytes = expectMaxMemory('options.maxMemory', opts.maxMemory);
  const onProgress = opts.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function')
    throw invalidInput('options.onProgress', 'Expected a function for options.onProgress');
  const signal = opts.signal as AbortSignal | undefined;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalidInput('options.signal', 'Expected an AbortSignal for options.signal');
  const compute = computeOptions('options', opts);
  if (signal?.aborted) throw aborted();

  // [0]: set to cancel; [1]: steps done, written natively.
  const control = new Int32Array(new SharedArrayBuffer(8));
  let callbackError: unknown;
  let reported = 0;
  const report = (done: number) => {
    if (!onProgress || done === reported || callbackError !== undefined) return;
    reported = done;
    try {
      (onProgress as (done: number, total: number) => void)(done, count);
    } catch (error) {
      callbackError = error;
      Atomics.store(control, 0, 1);
    }
  };
  const timer = onProgress ? setInterval(() => report(Atomics.load(control, 1)), POLL_MS) : undefined;
  const onAbort = () => Atomics.store(control, 0, 1);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const r = await callNative('kCenterGreedy', () =>
      binding().kCenterGreedy(m, {
        count,
        projection,
        seed,
        start,
        device: compute.device,
        threads: compute.threads,
        maxBytes,
        control,
      }),
    ).catch((error) => rethrowOverLimit('options.maxMemory', error));
    report(count);
    if (callbackError !== undefined) throw callbackError;
    return {
      indices: r.indices,
      coveringRadius: r.coveringRadius,
      projection,
      distanceEvaluations: r.distanceEvaluations,
      backend: r.backend,
    };
  } catch (error) {
    if (callbackError !== undefined) throw callbackError;
    throw error;
  } finally {
    if (timer) clearInterval(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function aborted(): OneclassError {
  return new OneclassError('ERR_ABORTED', 'kCenterGreedy: the selection was cancelled (options.signal)');
}
