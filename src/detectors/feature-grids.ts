/** Feature grids (images x positions x dim float32): the input of the per-position detectors. */
import type { FeatureGrids } from '../native.js';
import { invalidArgument, invalidInput } from '../errors.js';
import { expectInteger } from '../validate.js';

export type { FeatureGrids };

/**
 * Checks the shape and type (NaN/Infinity are checked natively, where the image, position and
 * dimension can be named without a second pass on the JS thread).
 */
export function expectFeatureGrids(
  path: string,
  value: unknown,
  options: { minImages?: number; positions?: number; dim?: number } = {},
): FeatureGrids {
  if (value === null || typeof value !== 'object')
    throw invalidArgument(path, 'feature grids { data: Float32Array, images, positions, dim }', value);
  const f = value as Partial<FeatureGrids>;
  if (!(f.data instanceof Float32Array)) throw invalidArgument(`${path}.data`, 'Float32Array', f.data);
  const images = expectInteger(`${path}.images`, f.images, options.minImages ?? 1);
  const positions = expectInteger(`${path}.positions`, f.positions, 1, 2 ** 24);
  const dim = expectInteger(`${path}.dim`, f.dim, 1, 2 ** 14);
  if (images * positions * dim !== f.data.length) {
    throw invalidInput(
      `${path}.data`,
      `Expected ${path}.data to hold images * positions * dim = ${images} * ${positions} * ${dim} = ` +
        `${images * positions * dim} values but it holds ${f.data.length}`,
    );
  }
  for (const key of ['positions', 'dim'] as const) {
    const want = options[key];
    const got = key === 'positions' ? positions : dim;
    if (want !== undefined && got !== want)
      throw invalidInput(`${path}.${key}`, `Expected ${path}.${key} to be ${want} (as fitted) but it is ${got}`);
  }
  return { data: f.data, images, positions, dim };
}
