/**
 * Coarse patch-score grids to per-pixel heatmaps.
 *
 * mode 'bilinear' (default): bilinear resize with PyTorch's interpolate(align_corners=False)
 *   sampling, then a normalized Gaussian blur of kernel size 2*int(4*sigma+0.5)+1 with
 *   'reflect' borders (PyTorch's reflect: the edge pixel is not repeated), as anomalib does.
 * mode 'receptive-field': each patch score spread over its patch's pixels by a Gaussian of
 *   standard deviation sigma centred on the patch (a transposed convolution at the patch
 *   stride, as CutPaste and FCDD do), divided by the total weight reaching each pixel.
 *   Grid cell (i, j) is the patch whose top-left pixel is (i * stride, j * stride); pixels no
 *   patch covers take the nearest patch's score.
 *
 * Both are linear and separable, so the native side builds one banded operator per axis and
 * applies it to the whole batch (never per-map min-max normalization: scores keep their scale).
 */
import { callNative, OneclassError } from '../errors.js';
import { binding } from '../native.js';
import {
  expectDevice,
  expectInteger,
  expectKnownKeys,
  expectNumber,
  expectOneOf,
  expectOptions,
  expectResultSize,
  expectThreads,
  invalidArgumentFor,
  type Device,
} from '../validate.js';

export interface HeatmapBatch {
  /** batch x height x width values, row-major. */
  data: Float32Array;
  batch: number;
  height: number;
  width: number;
}

export type HeatmapMode = 'bilinear' | 'receptive-field';

export interface UpsampleOptions {
  /** Output size in pixels. */
  height: number;
  width: number;
  /** Gaussian sigma in output pixels, 0 to 4096. Default 4. 0 disables the blur in 'bilinear' mode. */
  sigma?: number;
  mode?: HeatmapMode;
  /** 'receptive-field' mode: patch side and stride in output pixels (both required). */
  patchSize?: number;
  stride?: number;
  device?: Device;
  threads?: number;
  /**
   * Write into this array (batch * height * width values) instead of allocating one; it is returned
   * as `data`. Over a SharedArrayBuffer it is written in place while the call runs; otherwise the
   * values are copied into it when the call settles (the caller may detach or shrink an ArrayBuffer
   * meanwhile: the call then rejects with ERR_INVALID_ARGUMENT and writes nothing).
   */
  out?: Float32Array;
}

const KEYS = ['height', 'width', 'sigma', 'mode', 'patchSize', 'stride', 'device', 'threads', 'out'];

/**
 * Bounds of every size and of sigma, checked before anything is allocated (the same as the
 * native plan's, native/core/include/oneclass/heatmap.h). Without them sigma 3e8 asked for a
 * 19 GB kernel and 1e307 silently skipped the blur.
 */
export const MAX_HEATMAP_SIDE = 16384;
export const MAX_GRID_SIDE = 4096;
export const MAX_SIGMA = 4096;

export async function upsampleHeatmaps(
  grids: HeatmapBatch,
  options: UpsampleOptions,
): Promise<HeatmapBatch & { backend: 'cpu' | 'cuda' }> {
  if (grids === null || typeof grids !== 'object')
    throw invalidArgumentFor('grids', 'an object { data, batch, height, width }', grids);
  if (!(grids.data instanceof Float32Array)) throw invalidArgumentFor('grids.data', 'Float32Array', grids.data);
  const batch = expectInteger('grids.batch', grids.batch, 0);
  const gh = expectInteger('grids.height', grids.height, 1, MAX_GRID_SIDE);
  const gw = expectInteger('grids.width', grids.width, 1, MAX_GRID_SIDE);
  if (batch * gh * gw !== grids.data.length) {
    throw new OneclassError(
      'ERR_INVALID_ARGUMENT',
      `Expected grids.data to hold batch * height * width = ${batch * gh * gw} values but it holds ${grids.data.length}`,
      { path: 'grids.data' },
    );
  }
  const opts = expectOptions('options', options);
  expectKnownKeys('options', opts, KEYS);
  const height = expectInteger('options.height', opts.height, 1, MAX_HEATMAP_SIDE);
  const width = expectInteger('options.width', opts.width, 1, MAX_HEATMAP_SIDE);
  const sigma = opts.sigma === undefined ? 4 : expectNumber('options.sigma', opts.sigma, { min: 0, max: MAX_SIGMA });
  const mode =
    opts.mode === undefined
      ? 'bilinear'
      : expectOneOf('options.mode', opts.mode, ['bilinear', 'receptive-field'] as const);
  let patchSize = 0;
  let stride = 0;
  if (mode === 'receptive-field') {
    patchSize = expectInteger('options.patchSize', opts.patchSize, 1, MAX_HEATMAP_SIDE);
    stride = expectInteger('options.stride', opts.stride, 1, MAX_HEATMAP_SIDE);
    if (sigma === 0) throw invalidArgumentFor('options.sigma', "a positive number in 'receptive-field' mode", sigma);
  }
  expectResultSize('upsampleHeatmaps', batch * height * width);
  const device = expectDevice('options.device', opts.device);
  const threads = expectThreads('options.threads', opts.threads);
  const out = opts.out;
  if (out !== undefined) {
    if (!(out instanceof Float32Array)) throw invalidArgumentFor('options.out', 'Float32Array', out);
    if (out.length !== batch * height * width) {
      throw new OneclassError(
        'ERR_INVALID_ARGUMENT',
        `Expected options.out to hold batch * height * width = ${batch * height * width} values but it holds ${out.length}`,
        { path: 'options.out' },
      );
    }
    if (out.buffer === grids.data.buffer)
      throw invalidArgumentFor('options.out', 'an array that does not share memory with grids.data', 'the same buffer');
  }
  const r = await callNative('upsampleHeatmaps', () =>
    binding().upsample(
      { data: grids.data, batch, height: gh, width: gw },
      { mode, height, width, sigma, patchSize, stride, device, threads, out },
    ),
  );
  return { data: r.data, batch, height, width, backend: r.backend };
}

/** How heatmapScores reduces each map to an image score. */
export type HeatmapReduce = 'max' | 'top-k';

/**
 * Image scores of the maps `upsampleHeatmaps(grids, { height, width, sigma })` ('bilinear' mode)
 * would return: each map's maximum, or the mean of its `topK` largest values. The maps are made
 * and reduced in one native call off the JS thread and never handed to JavaScript (dense
 * localization's 'heatmap-max' and 'heatmap-top-k' image scores, src/pipeline/dense-heatmaps.ts).
 * Internal: the caller passes grids it made itself, so only the reduction's own options are checked.
 */
export async function heatmapScores(
  grids: HeatmapBatch,
  options: { height: number; width: number; sigma: number; reduce: HeatmapReduce; topK?: number; threads?: number },
): Promise<Float64Array> {
  const { height, width, sigma, reduce } = options;
  const topK = reduce === 'top-k' ? expectInteger('options.topK', options.topK, 1, height * width) : 1;
  const device = expectDevice('options.device', undefined);
  const threads = expectThreads('options.threads', options.threads);
  const r = await callNative('upsampleHeatmaps', () =>
    binding().upsample(
      { data: grids.data, batch: grids.batch, height: grids.height, width: grids.width },
      { mode: 'bilinear', height, width, sigma, patchSize: 0, stride: 0, device, threads, reduce, topK, maps: false },
    ),
  );
  return r.scores;
}
