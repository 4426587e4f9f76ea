/**
 * A dense method's anomaly grid to pixels, natively and off the JS thread (upsampleHeatmaps,
 * 'bilinear' mode: PyTorch's interpolate(align_corners=False), then a Gaussian blur).
 *
 * Grid cell (i, j) is centred on model-input pixel ((j + 0.5) * stride, (i + 0.5) * stride), which
 * is exactly where align_corners=False puts it, at any output size: heatmaps go straight from the
 * grid to each image's own size, no intermediate square. The blur's sigma is given in model-input
 * pixels and scaled to the output.
 *
 * Image scores from the heatmap ('heatmap-max', 'heatmap-top-k') are taken from the map smoothed at
 * the model input's size, so they do not depend on how large the image file was.
 */
import { heatmapScores, upsampleHeatmaps } from '../localization/heatmaps.js';
import { type Calibration, normalize } from './calibration.js';
import type { ImageScoreMode } from './model-file.js';
import type { DenseScorer } from './scoring.js';
import type { Heatmap } from './types.js';

/** 'heatmap-top-k' averages this fraction of the smoothed map's pixels, the largest ones. */
export const TOP_K_FRACTION = 0.01;

/**
 * Image scores from the grids smoothed at the model input's size: the maps are made, reduced and
 * dropped in one native call, off the JS thread (a batch of 256 px maps reduced in JavaScript
 * held the event loop for 5-10 ms).
 */
export async function heatmapImageScores(
  grid: Float64Array,
  images: number,
  dense: DenseScorer,
  mode: ImageScoreMode,
): Promise<Float64Array> {
  const { height, width } = dense.input;
  const k = Math.max(1, Math.round(TOP_K_FRACTION * height * width));
  return heatmapScores(
    { data: Float32Array.from(grid), batch: images, height: dense.grid.height, width: dense.grid.width },
    { height, width, sigma: dense.sigma, reduce: mode === 'heatmap-top-k' ? 'top-k' : 'max', topK: k },
  );
}

/** Per-pixel heatmaps at each image's own size, with the pixel calibration's normalization. */
export async function denseHeatmaps(
  grid: Float64Array,
  images: readonly { width: number; height: number }[],
  dense: DenseScorer,
  calibration: Calibration,
): Promise<Heatmap[]> {
  const gh = dense.grid.height;
  const gw = dense.grid.width;
  const positions = gh * gw;
  const normalized = Float32Array.from(normalize(grid, calibration));
  return Promise.all(
    images.map(async ({ width, height }, i) => {
      const scale = Math.sqrt((height / dense.input.height) * (width / dense.input.width));
      // A view, not a copy: the native call copies its input itself.
      const r = await upsampleHeatmaps(
        { data: normalized.subarray(i * positions, (i + 1) * positions), batch: 1, height: gh, width: gw },
        { height, width, sigma: dense.sigma * scale },
      );
      return { width, height, data: r.data };
    }),
  );
}
