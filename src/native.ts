/**
 * The native addon (native/addon) and the exact shape of what it exports. Heavy calls return
 * Promises settled from libuv's thread pool; typed arrays are read and written in place.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { OneclassError } from './errors.js';

export interface NativePointSet {
  readonly rows: number;
  readonly cols: number;
  readonly backend: 'cpu' | 'cuda';
}

export interface NativeGaussian {
  mean: Float64Array;
  covariance: Float64Array;
  choleskyInverse: Float64Array;
  shrinkage: number;
  logDet: number;
}

export interface NativeOneClassSvm {
  alpha: Float64Array;
  rho: number;
  objective: number;
  iterations: number;
  converged: boolean;
  kernelSeconds: number;
  solverSeconds: number;
  kernelRowsComputed: number;
  fullMatrix: boolean;
  backend: 'cpu' | 'cuda';
}

export interface NativeBackendInfo {
  cpu: { threads: number; simd: string };
  cuda: {
    compiled: boolean;
    usable: boolean;
    reason?: string;
    runtimeVersion: number;
    driverVersion: number;
    devices: Array<{
      index: number;
      name: string;
      computeCapability: string;
      multiprocessors: number;
      totalMemory: number;
    }>;
  };
}

export interface Binding {
  backendInfo(): NativeBackendInfo;
  prepare(
    data: Float32Array,
    rows: number,
    cols: number,
    device: string,
    l2normalize: boolean,
    center: Float32Array | null,
    transformRows: boolean,
  ): Promise<NativePointSet>;
  kernelLogSum(
    set: NativePointSet,
    queries: Float32Array,
    n: number,
    gamma: number,
    weights: Float64Array | null,
    threads: number,
  ): Promise<Float64Array>;
  nearest(
    set: NativePointSet,
    queries: Float32Array,
    n: number,
    k: number,
    threads: number,
  ): Promise<{ distances: Float64Array; indices: Int32Array }>;
  projectedSquaredNorm(set: NativePointSet, queries: Float32Array, n: number, threads: number): Promise<Float64Array>;
  kernelRows(
    set: NativePointSet,
    queries: Float32Array,
    n: number,
    gamma: number,
    threads: number,
  ): Promise<Float32Array>;
  upsample(
    grids: Float32Array,
    batch: number,
    gridHeight: number,
    gridWidth: number,
    mode: string,
    height: number,
    width: number,
    sigma: number,
    patchSize: number,
    stride: number,
    device: string,
    threads: number,
    out?: Float32Array,
  ): Promise<{ data: Float32Array; backend: 'cpu' | 'cuda' }>;
  fitGaussian(
    data: Float32Array,
    rows: number,
    cols: number,
    kind: 'ledoit-wolf' | 'fixed' | 'none',
    shrinkage: number,
    regCovar: number,
    threads: number,
    l2normalize: boolean,
  ): Promise<NativeGaussian>;
  fitOneClassSvm(
    data: Float32Array,
    rows: number,
    cols: number,
    device: string,
    l2normalize: boolean,
    center: Float32Array,
    gamma: number,
    nu: number,
    tol: number,
    maxIter: number,
    cacheMb: number,
    shrinking: boolean,
    threads: number,
  ): Promise<NativeOneClassSvm>;
  kernelWeightedSum(
    set: NativePointSet,
    queries: Float32Array,
    n: number,
    gamma: number,
    weights: Float64Array,
    threads: number,
  ): Promise<Float64Array>;
  preprocessImage(
    pixels: Uint8Array,
    width: number,
    height: number,
    channels: number,
    outHeight: number,
    outWidth: number,
    table: Float32Array,
    out: Float32Array,
    offset: number,
  ): Promise<void>;
  columnStats(
    data: Float32Array,
    rows: number,
    cols: number,
    l2normalize: boolean,
  ): Promise<{ mean: Float64Array; variance: number }>;
  factorGaussian(mean: Float64Array, covariance: Float64Array, dim: number, shrinkage: number): Promise<NativeGaussian>;
}

function packageRoot(): string {
  // src/native.ts and dist/native.js both sit one level below the package root.
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

let cached: Binding | undefined;

/** Loads build/Release/oneclass.node once; ONECLASS_ADDON overrides the path. */
export function binding(): Binding {
  if (cached) return cached;
  const path = process.env.ONECLASS_ADDON ?? join(packageRoot(), 'build', 'Release', 'oneclass.node');
  if (!existsSync(path)) {
    throw new OneclassError(
      'ERR_BACKEND_UNAVAILABLE',
      `The native addon was not found at ${path}. It is built on install; run \`npm rebuild oneclass\` ` +
        '(needs cmake and a C++17 compiler).',
    );
  }
  try {
    cached = createRequire(import.meta.url)(path) as Binding;
  } catch (cause) {
    throw new OneclassError('ERR_BACKEND_UNAVAILABLE', `The native addon at ${path} failed to load: ${String(cause)}`, {
      cause,
    });
  }
  return cached;
}
