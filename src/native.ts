/**
 * The native addon (native/addon) and the exact shape of what it exports. Heavy calls return
 * Promises settled from libuv's thread pool.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { checkPrebuilt, type PrebuiltManifest } from '../scripts/prebuilt.mjs';
import type { RawImage } from './encoder/types.js';
import { OneclassError } from './errors.js';
import type { Device, Matrix } from './validate.js';

/** batch grids of height x width values, row-major, one after the other. */
export interface GridBatch {
  data: Float32Array;
  batch: number;
  height: number;
  width: number;
}

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
  /** Variables of the start point's sub-problem (0: libsvm's start). */
  warmStartSample: number;
  backend: 'cpu' | 'cuda';
  /** The gamma used (given, or from gammaScale and the statistics). */
  gamma: number;
  /** With options.statistics: the column statistics of x (columnStats' result). */
  stats?: NativeColumnStats;
}

/** One compiled CPU level of the kernels (docs/native.md, "CPU levels"). */
export interface NativeCpuLevel {
  name: 'baseline' | 'avx2' | 'avx512' | 'native';
  /** 'x86-64-v2', 'x86-64-v3', 'x86-64-v4', '-march=native' */
  isa: string;
  simd: string;
  /** This CPU runs it (cpuid). */
  supported: boolean;
  /** The CPU features it needs that this CPU lacks. */
  missing: string[];
}

/** images x positions x dim float32 features, row-major (one grid of patch features per image). */
export interface FeatureGrids {
  data: Float32Array;
  images: number;
  positions: number;
  dim: number;
}

export interface NativeKCenterResult {
  indices: Int32Array;
  coveringRadius: number;
  distanceEvaluations: number;
  backend: 'cpu' | 'cuda';
}

/** Per-position whitening factors prepared on a backend (native/addon/positional_gaussian.cc). */
export interface NativePositionalSet {
  readonly positions: number;
  readonly dim: number;
  readonly backend: 'cpu' | 'cuda';
}

export interface NativePositionalFit {
  set: NativePositionalSet;
  mean: Float64Array;
  covariance: Float64Array;
  logDet: Float64Array;
  backend: 'cpu' | 'cuda';
}

export interface NativeBackendInfo {
  cpu: {
    threads: number;
    /** Vector instructions of the kernels that run ('avx512', 'avx2', 'sse4.2', 'neon'...). */
    simd: string;
    /** The CPU level the kernels run at; null when ONECLASS_CPU_LEVEL names one that cannot run. */
    level: NativeCpuLevel['name'] | null;
    /** Why that level: chosen from cpuid, or forced by ONECLASS_CPU_LEVEL. */
    levelReason: string;
    /** Set when ONECLASS_CPU_LEVEL names a level this build lacks or this CPU cannot run: CPU ops fail with it. */
    levelError?: string;
    /** The compiled levels, lowest first. */
    levels: NativeCpuLevel[];
  };
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

/** The calls' options, one type per call; what each field means is in native/addon/<call>.cc. */
export interface ThreadsOption {
  /** CPU threads; 0 or absent = every hardware thread. */
  threads?: number;
}

export interface PrepareOptions {
  device: Device;
  l2normalize: boolean;
  /** Subtracted from every (normalized) row; absent = none. */
  center?: Float32Array;
  /** false: the rows are used as given and only queries are transformed. Default true. */
  transformRows?: boolean;
}

export interface KernelLogSumOptions extends ThreadsOption {
  gamma: number;
  /** One per point of the set, >= 0; absent = all 1. */
  weights?: Float64Array;
}

export interface KernelWeightedSumOptions extends ThreadsOption {
  gamma: number;
  weights: Float64Array;
}

export interface NearestOptions extends ThreadsOption {
  k: number;
}

export interface KernelRowsOptions extends ThreadsOption {
  gamma: number;
}

export interface UpsampleNativeOptions extends ThreadsOption {
  mode: 'bilinear' | 'receptive-field';
  height: number;
  width: number;
  sigma: number;
  /** 'receptive-field' mode only. */
  patchSize?: number;
  stride?: number;
  device: Device;
  /** Written when the call settles, if it still holds batch * height * width values. */
  out?: Float32Array;
  /** Also return each map's maximum or top-k mean as `scores` (default 'none'). */
  reduce?: 'none' | 'max' | 'top-k';
  /** reduce 'top-k': how many of each map's largest values are averaged. */
  topK?: number;
  /** false: keep the maps native and return only the scores (data: null). Default true. */
  maps?: boolean;
}

export interface FitGaussianOptions extends ThreadsOption {
  shrinkageKind: 'ledoit-wolf' | 'fixed' | 'none';
  /** The coefficient for 'fixed'. */
  shrinkage: number;
  regCovar: number;
  l2normalize: boolean;
}

export interface FactorGaussianOptions {
  shrinkage: number;
}

export interface ColumnStatsOptions extends ThreadsOption {
  l2normalize: boolean;
}

/** Statistics of the (transformed) training rows: native/core/include/oneclass/column_stats.h. */
export interface NativeColumnStats {
  mean: Float64Array;
  variance: number;
  /** largest |entry| */
  largestAbs: number;
  /** upper median over columns of sum_i (x_ik - mean_k)^2 */
  medianColumnDeviation: number;
  /** upper median over rows of |x_i - mean|^2 */
  medianRowDeviation: number;
}

export interface FitOneClassSvmOptions extends ThreadsOption {
  device: Device;
  l2normalize: boolean;
  /** Ignored with statistics (the call centres on the mean it computes). */
  center?: Float32Array;
  /** Required unless statistics and gammaScale are given. */
  gamma?: number;
  /**
   * Take columnStats of the call's own copy of x first (returned as `stats`), centre on its mean,
   * and with gammaScale use gamma = gammaScale / (cols * variance): one copy of x, not two calls'.
   */
  statistics?: boolean;
  gammaScale?: number;
  nu: number;
  tol: number;
  maxIter: number;
  cacheMb: number;
  shrinking: boolean;
  /** Variables of the start point's sub-problem; 0: libsvm's start. Default 1024. */
  warmStartSample?: number;
}

export interface KCenterOptions extends ThreadsOption {
  count: number;
  /** 0: no projection. */
  projection: number;
  seed: number;
  start: number;
  device: Device;
  /** Refused (ERR_OUT_OF_MEMORY) before anything is allocated when the selection needs more; 0 = no limit. */
  maxBytes?: number;
  /** Int32Array(2) over a SharedArrayBuffer: [0] set to cancel, [1] steps done (written natively). */
  control?: Int32Array;
}

export interface GaussianProjectionOptions {
  outDim: number;
  inDim: number;
  seed: number;
}

export interface PositionalGaussianFitOptions extends ThreadsOption {
  regularization: number;
  device: Device;
  /** See KCenterOptions.maxBytes. */
  maxBytes?: number;
}

export interface PositionalGaussianPrepareOptions extends ThreadsOption {
  positions: number;
  dim: number;
  device: Device;
  maxBytes?: number;
}

export interface PreprocessImageOptions {
  /** The encoder's input size. */
  height: number;
  width: number;
  /** channels x 256 normalization table (buildNormalizeTable). */
  table: Float32Array;
  /** Written at out[offset...] when the call settles, if it still holds the values. */
  out: Float32Array;
  offset: number;
}

export interface PreprocessPatchesOptions {
  resize: number;
  patchSize: number;
  stride: number;
  /** The encoder's input size. */
  height: number;
  width: number;
  /** channels x 256 normalization table (buildNormalizeTable). */
  table: Float32Array;
}

/**
 * Every call takes its data arguments (a point set, a matrix, an image) and one options object.
 * The addon copies what it reads before the call is queued, so changing, transferring or shrinking
 * an input afterwards cannot affect a pending call.
 */
/** Bytes the native core keeps between calls (backend.ts, keptMemory). */
export interface KeptMemory {
  /** The one-class SVM's kernel storage kept for the next fit. */
  kernelStorage: number;
  /** Blocks of large call-private buffers kept for the next calls. */
  scratch: number;
}

export interface Binding {
  backendInfo(): NativeBackendInfo;
  keptMemory(): KeptMemory;
  releaseKeptMemory(): KeptMemory;
  prepare(points: Matrix, options: PrepareOptions): Promise<NativePointSet>;
  kernelLogSum(set: NativePointSet, queries: Matrix, options: KernelLogSumOptions): Promise<Float64Array>;
  kernelWeightedSum(set: NativePointSet, queries: Matrix, options: KernelWeightedSumOptions): Promise<Float64Array>;
  nearest(
    set: NativePointSet,
    queries: Matrix,
    options: NearestOptions,
  ): Promise<{ distances: Float64Array; indices: Int32Array }>;
  projectedSquaredNorm(set: NativePointSet, queries: Matrix, options: ThreadsOption): Promise<Float64Array>;
  kernelRows(set: NativePointSet, queries: Matrix, options: KernelRowsOptions): Promise<Float32Array>;
  /** data is null with maps: false; scores only with a reduce other than 'none'. */
  upsample(
    grids: GridBatch,
    options: UpsampleNativeOptions,
  ): Promise<{ data: Float32Array; scores: Float64Array; backend: 'cpu' | 'cuda' }>;
  fitGaussian(x: Matrix, options: FitGaussianOptions): Promise<NativeGaussian>;
  factorGaussian(mean: Float64Array, covariance: Float64Array, options: FactorGaussianOptions): Promise<NativeGaussian>;
  columnStats(x: Matrix, options: ColumnStatsOptions): Promise<NativeColumnStats>;
  fitOneClassSvm(x: Matrix, options: FitOneClassSvmOptions): Promise<NativeOneClassSvm>;
  preprocessImage(image: RawImage, options: PreprocessImageOptions): Promise<void>;
  /** preprocessImage on the calling thread (small images). */
  preprocessImageSync(image: RawImage, options: PreprocessImageOptions): void;
  /** images x positions planar tensors, in a tensor the call allocates. */
  preprocessPatches(images: readonly RawImage[], options: PreprocessPatchesOptions): Promise<Float32Array>;
  kCenterGreedy(x: Matrix, options: KCenterOptions): Promise<NativeKCenterResult>;
  /** outDim x inDim, row-major; synchronous (small). */
  gaussianProjection(options: GaussianProjectionOptions): Float64Array;
  fitPositionalGaussian(features: FeatureGrids, options: PositionalGaussianFitOptions): Promise<NativePositionalFit>;
  preparePositionalGaussian(
    mean: Float64Array,
    covariance: Float64Array,
    options: PositionalGaussianPrepareOptions,
  ): Promise<{ set: NativePositionalSet; logDet: Float64Array; backend: 'cpu' | 'cuda' }>;
  /** Squared Mahalanobis distances, images x positions. */
  scorePositionalGaussian(
    set: NativePositionalSet,
    features: FeatureGrids,
    options: ThreadsOption,
  ): Promise<Float64Array>;
}

/**
 * For callers that read an input again after a native call: the caller detached or resized its
 * buffer while the call ran (the call itself read its own copy).
 */
export function inputChangedDuringCall(path: string, call: string): OneclassError {
  return new OneclassError(
    'ERR_INVALID_ARGUMENT',
    `${call}: ${path}.data was detached or resized while the call ran; pass an array that stays as it is until the call settles`,
    { path: `${path}.data` },
  );
}

function packageRoot(): string {
  // src/native.ts and dist/native.js both sit one level below the package root.
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

/** Which addon file was loaded, and why that one. */
export interface AddonLocation {
  /**
   * 'env': the path in ONECLASS_ADDON; 'source': a build from source (build/Release, made by
   * `npm run build:native` or by the install step); 'prebuilt': prebuilds/<platform>-<arch>.
   */
  kind: 'env' | 'source' | 'prebuilt';
  path: string;
  /** The prebuilt's manifest (sourceHash, toolchain, CUDA architectures...). */
  manifest?: PrebuiltManifest;
}

/**
 * The addon to load: ONECLASS_ADDON when set; else a source build when there is one (it exists
 * only when someone built it: a developer, `npm install --build-from-source`, or the install step
 * because no prebuilt matched); else the prebuilt binary of this platform, if it was built from
 * exactly the native sources in this package (scripts/prebuilt.mjs).
 */
export function locateAddon(): AddonLocation {
  if (process.env.ONECLASS_ADDON) return { kind: 'env', path: process.env.ONECLASS_ADDON };
  const root = packageRoot();
  const source = join(root, 'build', 'Release', 'oneclass.node');
  if (existsSync(source)) return { kind: 'source', path: source };
  const prebuilt = checkPrebuilt(root);
  if (prebuilt.ok && prebuilt.manifest) return { kind: 'prebuilt', path: prebuilt.path, manifest: prebuilt.manifest };
  throw new OneclassError(
    'ERR_BACKEND_UNAVAILABLE',
    `The native addon is missing: no source build at ${source}, and ${prebuilt.reason}. Build it from source ` +
      'with `npm rebuild oneclass --build-from-source` (needs cmake and a C++17 compiler; nvcc for the CUDA backend).',
  );
}

let cached: Binding | undefined;
let cachedLocation: AddonLocation | undefined;

/** Loads the addon once (locateAddon says which file). */
export function binding(): Binding {
  if (cached) return cached;
  const location = locateAddon();
  if (!existsSync(location.path)) {
    throw new OneclassError(
      'ERR_BACKEND_UNAVAILABLE',
      `The native addon was not found at ${location.path} (ONECLASS_ADDON).`,
    );
  }
  try {
    cached = createRequire(import.meta.url)(location.path) as Binding;
  } catch (cause) {
    const needs =
      location.kind === 'prebuilt' && location.manifest?.glibc
        ? ` (it needs glibc ${location.manifest.glibc} or newer; build from source with \`npm rebuild oneclass --build-from-source\`)`
        : '';
    throw new OneclassError(
      'ERR_BACKEND_UNAVAILABLE',
      `The native addon at ${location.path} failed to load${needs}: ${String(cause)}`,
      { cause },
    );
  }
  cachedLocation = location;
  return cached;
}

/** Where the loaded addon came from (loads it if needed). */
export function addonLocation(): AddonLocation {
  binding();
  return cachedLocation as AddonLocation;
}
