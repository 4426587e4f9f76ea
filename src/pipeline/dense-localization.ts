/**
 * Localization over a dense encoder's per-position outputs (manifest "dense" block): one forward
 * pass per image gives a grid of scores or features, and one of three methods turns it into an
 * anomaly grid (higher = more anomalous):
 *
 *   segmentation  the encoder's own per-position scores (a head trained to segment synthetic
 *                 defects, dense CutPaste): nothing is fitted
 *   patchcore     distance of each position's feature to the nearest row of a memory bank of the
 *                 training images' features, subsampled by greedy k-center (MemoryBank)
 *   padim         Mahalanobis distance of each position's feature to a Gaussian of that position
 *                 (PositionalGaussian)
 *
 * The crop grid of image-level encoders (`crops`, features.ts) stays for encoders without a dense
 * block. Which method is the default was measured (docs/results.md, "Dense localization").
 */
import type { ComputeOptions } from '../detectors/common.js';
import { MemoryBank } from '../detectors/memory-bank.js';
import { PositionalGaussian } from '../detectors/positional-gaussian.js';
import type { DenseInfo, Encoder } from '../encoder/index.js';
import { invalidArgument, OneclassError } from '../errors.js';
import type { Backend, Matrix } from '../validate.js';
import type { Calibration } from './calibration.js';

export const PATCH_METHODS = ['segmentation', 'patchcore', 'padim', 'crops'] as const;
export type PatchMethod = (typeof PATCH_METHODS)[number];
export type DenseMethod = Exclude<PatchMethod, 'crops'>;
export const DENSE_METHODS: readonly DenseMethod[] = ['segmentation', 'patchcore', 'padim'];

/**
 * The method a dense encoder gets when none is asked for: the one with the best pixel AUROC and
 * AUPRO on the complete magnetic-tile test set (docs/results.md, "Dense localization").
 */
export const DEFAULT_DENSE_METHOD: DenseMethod = 'segmentation';
/** PatchCore's coreset ratio (Roth et al. 2022). */
export const DEFAULT_CORESET_RATIO = 0.01;
/** Gaussian blur of the upsampled grid, in pixels of the model input (anomalib's sigma 4). */
export const DEFAULT_DENSE_SIGMA = 4;

export function isDenseMethod(method: unknown): method is DenseMethod {
  return DENSE_METHODS.includes(method as DenseMethod);
}

/** What a dense method needs from each forward pass. */
export function denseNeeds(method: DenseMethod): { scores: boolean; features: boolean } {
  return { scores: method === 'segmentation', features: method !== 'segmentation' };
}

/** The grid the method works on: the encoder's, kept in the model file to check against it. */
export interface DenseGrid {
  height: number;
  width: number;
  stride: number;
}

/** A dense localization as the model file keeps it. */
export interface DenseLocalization {
  method: DenseMethod;
  grid: DenseGrid;
  /** Gaussian sigma of the heatmap blur, in pixels of the model input (scaled to each image). */
  sigma: number;
  calibration: Calibration;
  /** patchcore: the bank's size and where it came from. */
  bank?: { rows: number; sourceRows: number; coresetRatio: number; dim: number };
  /** padim: the per-position statistics' size. */
  padim?: { positions: number; dim: number; regularization: number };
}

/**
 * The method's checks against the encoder: a dense method needs a dense encoder with the output it
 * reads (ERR_INVALID_ARGUMENT naming `path`, the option that chose the method).
 */
export function requireDenseOutputs(encoder: Encoder, method: DenseMethod, path: string): DenseInfo {
  const dense = encoder.dense;
  const needs = denseNeeds(method);
  const label = encoder.modelPath ?? 'the encoder';
  if (!dense)
    throw invalidArgument(
      path,
      `'crops' for an encoder without a dense block (${label} has no manifest "dense" block, so '${method}' cannot run)`,
      method,
    );
  if (needs.scores && !dense.scores)
    throw invalidArgument(path, `a method other than 'segmentation' (${label} has no dense 'scores' output)`, method);
  if (needs.features && !dense.features)
    throw invalidArgument(path, `'segmentation' (${label} has no dense 'features' output)`, method);
  return dense;
}

/** Per-position outputs of some images: scores (images x positions) or feature rows (images*positions x dim). */
export interface DenseFeatures {
  scores: Float32Array | null;
  features: Matrix | null;
}

/** A fitted dense method: anomaly grids of new images, and its bytes for the model file. */
export interface FittedDenseMethod {
  readonly method: DenseMethod;
  readonly backend: Backend;
  /** images x positions anomaly scores, higher = more anomalous. */
  grid(f: DenseFeatures, images: number): Promise<Float64Array>;
  /** What the model file stores (null: nothing, segmentation). */
  toBytes(): Uint8Array | null;
  /** Size facts stored in the config (and shown by `oneclass info --model`). */
  summary(): Pick<DenseLocalization, 'bank' | 'padim'>;
}

export interface DenseFitOptions {
  method: DenseMethod;
  positions: number;
  /** patchcore: fraction of the training rows kept in the bank. */
  coresetRatio: number;
  /** Bytes the bank or statistics may use (undefined: half the machine's memory). */
  maxMemory: number | undefined;
  /** Progress of the coreset selection. */
  onProgress?: (done: number, total: number) => void;
}

function segmentation(): FittedDenseMethod {
  return {
    method: 'segmentation',
    backend: 'cpu',
    grid: async (f) => Float64Array.from(required(f.scores, 'scores')),
    toBytes: () => null,
    summary: () => ({}),
  };
}

function patchcore(bank: MemoryBank): FittedDenseMethod {
  return {
    method: 'patchcore',
    backend: bank.backend,
    grid: async (f) => (await bank.kneighbors(required(f.features, 'features'), 1)).distances,
    toBytes: () => bank.toBytes(),
    summary: () => ({
      bank: { rows: bank.rows, sourceRows: bank.sourceRows, coresetRatio: bank.coresetRatio, dim: bank.dim },
    }),
  };
}

function padim(pg: PositionalGaussian): FittedDenseMethod {
  return {
    method: 'padim',
    backend: pg.backend,
    grid: async (f, images) => {
      const m = required(f.features, 'features');
      const d2 = await pg.mahalanobis({ data: m.data, images, positions: pg.positions, dim: pg.dim });
      // PaDiM's score is the distance, not its square.
      for (let i = 0; i < d2.length; i++) d2[i] = Math.sqrt(Math.max(0, d2[i]));
      return d2;
    },
    toBytes: () => pg.toBytes(),
    summary: () => ({ padim: { positions: pg.positions, dim: pg.dim, regularization: pg.regularization } }),
  };
}

function required<T>(value: T | null, what: string): T {
  // The batch loop fetches what denseNeeds says; a missing output here is a bug, not bad input.
  if (value === null) throw new Error(`dense ${what} were not computed for this batch`);
  return value;
}

/**
 * Fits the method on the training images' per-position outputs. A bank or statistics over the
 * memory limit is refused before they are allocated (ERR_OUT_OF_MEMORY naming
 * localization.maxMemory, the option that sets it).
 */
export async function fitDenseMethod(
  training: DenseFeatures,
  images: number,
  options: DenseFitOptions,
  compute: ComputeOptions,
): Promise<FittedDenseMethod> {
  try {
    return await fitMethod(training, images, options, compute);
  } catch (error) {
    if (error instanceof OneclassError && error.code === 'ERR_OUT_OF_MEMORY' && error.path === 'options.maxMemory') {
      throw new OneclassError(error.code, error.message.replaceAll('options.maxMemory', 'localization.maxMemory'), {
        path: 'localization.maxMemory',
        cause: error,
      });
    }
    throw error;
  }
}

async function fitMethod(
  training: DenseFeatures,
  images: number,
  options: DenseFitOptions,
  compute: ComputeOptions,
): Promise<FittedDenseMethod> {
  switch (options.method) {
    case 'segmentation':
      return segmentation();
    case 'patchcore':
      return patchcore(
        await MemoryBank.fit(required(training.features, 'features'), {
          coreset: { ratio: options.coresetRatio },
          ...(options.maxMemory === undefined ? {} : { maxMemory: options.maxMemory }),
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
          ...compute,
        }),
      );
    case 'padim': {
      const m = required(training.features, 'features');
      return padim(
        await PositionalGaussian.fit(
          { data: m.data, images, positions: options.positions, dim: m.cols },
          { ...(options.maxMemory === undefined ? {} : { maxMemory: options.maxMemory }), ...compute },
        ),
      );
    }
  }
}

/** Reads a fitted method back from the model file's bytes. */
export async function restoreDenseMethod(
  loc: DenseLocalization,
  bytes: Uint8Array | null,
  compute: ComputeOptions,
): Promise<FittedDenseMethod> {
  switch (loc.method) {
    case 'segmentation':
      return segmentation();
    case 'patchcore':
      return patchcore(await MemoryBank.fromBytes(bytes!, compute));
    case 'padim':
      return padim(await PositionalGaussian.fromBytes(bytes!, compute));
  }
}
