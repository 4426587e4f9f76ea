/**
 * Validation of public inputs, done once in TypeScript before anything reaches the addon.
 * Messages follow one pattern: "Expected <what> for <parameter> but received <value>".
 */
import { invalidArgument, OneclassError } from './errors.js';

export { invalidArgument as invalidArgumentFor };

/** A row-major float32 matrix: element (i, j) is data[i * cols + j]. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** Largest number of elements one result may have (a Float32Array of 8 GiB). */
export const MAX_ELEMENTS = 2 ** 31;

export function expectInteger(path: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `integer >= ${min}` : `integer in [${min}, ${max}]`;
    throw invalidArgument(path, range, value);
  }
  return value;
}

export function expectPositiveNumber(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgument(path, 'positive finite number', value);
  }
  return value;
}

export function expectNonNegativeNumber(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidArgument(path, 'finite number >= 0', value);
  }
  return value;
}

export function expectBoolean(path: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidArgument(path, 'boolean', value);
  return value;
}

export function expectOneOf<T extends string>(path: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw invalidArgument(path, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  }
  return value as T;
}

export function expectOptions(path: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalidArgument(path, 'an options object', value);
  return value as Record<string, unknown>;
}

/** Rejects option names that do not exist (a typo would otherwise be silently ignored). */
export function expectKnownKeys(path: string, options: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key) && options[key] !== undefined) {
      throw new OneclassError(
        'ERR_INVALID_ARGUMENT',
        `Unknown option ${path}.${key}; valid options are ${known.join(', ')}`,
        { path: `${path}.${key}` },
      );
    }
  }
}

export type Device = 'auto' | 'cpu' | 'cuda';
export const DEVICES: readonly Device[] = ['auto', 'cpu', 'cuda'];

export function expectDevice(path: string, value: unknown): Device {
  return value === undefined ? 'auto' : expectOneOf(path, value, DEVICES);
}

/** threads: undefined or 0 = all cores. */
export function expectThreads(path: string, value: unknown): number {
  return value === undefined ? 0 : expectInteger(path, value, 0, 4096);
}

/**
 * Checks the matrix's shape and type (NaN/Inf are checked natively, where the row can be named
 * without a second pass on the JS thread).
 */
export function expectMatrix(path: string, value: unknown, options: { minRows?: number; cols?: number } = {}): Matrix {
  if (value === null || typeof value !== 'object')
    throw invalidArgument(path, 'a matrix { data: Float32Array, rows, cols }', value);
  const m = value as Partial<Matrix>;
  if (!(m.data instanceof Float32Array)) throw invalidArgument(`${path}.data`, 'Float32Array', m.data);
  const rows = expectInteger(`${path}.rows`, m.rows, options.minRows ?? 1);
  const cols = expectInteger(`${path}.cols`, m.cols, 1);
  if (rows * cols !== m.data.length) {
    throw new OneclassError(
      'ERR_INVALID_ARGUMENT',
      `Expected ${path}.data to hold rows * cols = ${rows} * ${cols} = ${rows * cols} values but it holds ${m.data.length}`,
      { path: `${path}.data` },
    );
  }
  if (options.cols !== undefined && cols !== options.cols) {
    throw new OneclassError(
      'ERR_INVALID_ARGUMENT',
      `Expected ${path} to have ${options.cols} columns (the dimension the model was fitted on) but it has ${cols}`,
      { path: `${path}.cols` },
    );
  }
  return { data: m.data, rows, cols };
}

export function expectResultSize(path: string, elements: number): void {
  if (elements > MAX_ELEMENTS) {
    throw new OneclassError(
      'ERR_INVALID_ARGUMENT',
      `The result of ${path} would hold ${elements} values (${((elements * 4) / 2 ** 30).toFixed(1)} GiB or more); ` +
        `split the input into batches of fewer rows`,
      { path },
    );
  }
}
