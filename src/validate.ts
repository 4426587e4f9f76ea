/**
 * Validation of public inputs, done once in TypeScript before anything reaches the addon or ONNX
 * Runtime. Every check here throws through errors.ts, so messages follow one pattern:
 * "Expected <what> for <parameter> but received <value>". The CLI describes its flags' ranges
 * with the same `describeRange` (cli/args.ts), so a bound reads the same in both.
 */
import { invalidArgument, invalidInput } from './errors.js';

export { invalidArgument as invalidArgumentFor };

/** A row-major float32 matrix: element (i, j) is data[i * cols + j]. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** Where a computation is asked to run: 'auto' picks CUDA when it is usable, else the CPU. */
export type Device = 'auto' | 'cpu' | 'cuda';
export const DEVICES: readonly Device[] = ['auto', 'cpu', 'cuda'];

/** Where a computation ran. */
export type Backend = 'cpu' | 'cuda';

/** Largest number of elements one result may have (a Float32Array of 8 GiB). */
export const MAX_ELEMENTS = 2 ** 31;

/** Images per batch, for the encoder and the pipeline alike. */
export const MAX_BATCH_SIZE = 4096;

/** Bounds of a numeric value; bounds are inclusive unless marked exclusive. */
export interface Range {
  min?: number;
  max?: number;
  integer?: boolean;
  exclusiveMin?: boolean;
  exclusiveMax?: boolean;
}

/** "integer in [1, 4096]", "positive finite number", "number in (0, 1]", ... */
export function describeRange(r: Range): string {
  const { min, max } = r;
  if (r.integer) {
    if (max === undefined) return min === undefined ? 'integer' : `integer >= ${min}`;
    return `integer in [${min ?? '-inf'}, ${max}]`;
  }
  if (max === undefined) {
    if (min === 0) return r.exclusiveMin ? 'positive finite number' : 'finite number >= 0';
    if (min === undefined) return 'finite number';
    return `finite number ${r.exclusiveMin ? '>' : '>='} ${min}`;
  }
  return `number in ${r.exclusiveMin ? '(' : '['}${min ?? '-inf'}, ${max}${r.exclusiveMax ? ')' : ']'}`;
}

export function isInRange(value: unknown, r: Range): value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (r.integer && !Number.isSafeInteger(value)) return false;
  if (r.min !== undefined && (r.exclusiveMin ? value <= r.min : value < r.min)) return false;
  if (r.max !== undefined && (r.exclusiveMax ? value >= r.max : value > r.max)) return false;
  return true;
}

export function expectNumber(path: string, value: unknown, range: Range): number {
  if (!isInRange(value, range)) throw invalidArgument(path, describeRange(range), value);
  return value;
}

export function expectInteger(path: string, value: unknown, min: number, max?: number): number {
  return expectNumber(path, value, { integer: true, min, max });
}

export function expectPositiveNumber(path: string, value: unknown): number {
  return expectNumber(path, value, { min: 0, exclusiveMin: true });
}

export function expectNonNegativeNumber(path: string, value: unknown): number {
  return expectNumber(path, value, { min: 0 });
}

export function expectBoolean(path: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidArgument(path, 'boolean', value);
  return value;
}

export function expectString(path: string, value: unknown, what = 'a non-empty string'): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidArgument(path, what, value);
  return value;
}

export function expectArray<T = unknown>(path: string, value: unknown, what = 'an array'): readonly T[] {
  if (!Array.isArray(value)) throw invalidArgument(path, what, value);
  return value as T[];
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
      throw invalidInput(`${path}.${key}`, `Unknown option ${path}.${key}; valid options are ${known.join(', ')}`);
    }
  }
}

export function expectDevice(path: string, value: unknown): Device {
  return value === undefined ? 'auto' : expectOneOf(path, value, DEVICES);
}

/** threads: undefined or 0 = all cores. */
export function expectThreads(path: string, value: unknown): number {
  return value === undefined ? 0 : expectInteger(path, value, 0, 4096);
}

/** A batch size option, `fallback` when not given. */
export function expectBatchSize(path: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : expectInteger(path, value, 1, MAX_BATCH_SIZE);
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
    throw invalidInput(
      `${path}.data`,
      `Expected ${path}.data to hold rows * cols = ${rows} * ${cols} = ${rows * cols} values but it holds ${m.data.length}`,
    );
  }
  if (options.cols !== undefined && cols !== options.cols) {
    throw invalidInput(
      `${path}.cols`,
      `Expected ${path} to have ${options.cols} columns (the dimension the model was fitted on) but it has ${cols}`,
    );
  }
  return { data: m.data, rows, cols };
}

export function expectResultSize(path: string, elements: number): void {
  if (elements > MAX_ELEMENTS) {
    throw invalidInput(
      path,
      `The result of ${path} would hold ${elements} values (${((elements * 4) / 2 ** 30).toFixed(1)} GiB or more); ` +
        `split the input into batches of fewer rows`,
    );
  }
}
