import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { decodeSafetensors, type Tensor } from '../src/io/safetensors.js';
import type { Matrix } from '../src/validate.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = join(REPO, 'test', 'fixtures');
export const SHARED_DATA = resolve(REPO, '..', 'shared', 'data');
export const hasSharedData = existsSync(SHARED_DATA);

export function loadFixture(relative: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  return decodeSafetensors(new Uint8Array(readFileSync(join(FIXTURES, relative))), relative);
}

export function fixtureExists(relative: string): boolean {
  return existsSync(join(FIXTURES, relative));
}

export function asMatrix(t: Tensor): Matrix {
  return { data: t.data as Float32Array, rows: t.shape[0], cols: t.shape[1] };
}

/** Deterministic Gaussian-ish matrix (xorshift + Box-Muller) for tests that need no reference. */
export function randomMatrix(rows: number, cols: number, seed = 1, scale = 1): Matrix {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++)
    data[i] = scale * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return { data, rows, cols };
}
