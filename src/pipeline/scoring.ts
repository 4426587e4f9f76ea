/**
 * Scoring one encoded batch, as functions of the fitted parts alone (no Detector instance):
 * raw anomaly scores from the image-level or patch detectors, normalization and decisions with
 * the stored calibration, and per-pixel heatmaps. Fit scores its held-out and validation images
 * with the same `rawScores` while its detectors are still being calibrated.
 */
import type { Encoder, ImageViews, RawImage } from '../encoder/index.js';
import { upsampleHeatmaps } from '../localization/heatmaps.js';
import { expectBatchSize, type Matrix } from '../validate.js';
import {
  DEFAULT_BATCH,
  type EncodedBatch,
  encodedBatches,
  type FeatureNeeds,
  type Features,
  PATCH_BATCH,
} from './batches.js';
import { normalize, toAnomaly } from './calibration.js';
import { type DenseLocalization, denseNeeds, type FittedDenseMethod } from './dense-localization.js';
import { heatmapImageScores, denseHeatmaps } from './dense-heatmaps.js';
import { type PatchGeometry, rowsAtPosition } from './features.js';
import { type NamedImage, unreadablePolicy } from './images.js';
import { type CropsLocalization, type ImageScoreMode, isDenseLocalization, type PipelineConfig } from './model-file.js';
import type { FittedDetector } from './registry.js';
import type { Heatmap, ScoreResult, StreamOptions } from './types.js';

/** A fitted pipeline: what a model file holds, with its detectors and encoder ready to run. */
export interface FittedPipeline {
  readonly encoder: Encoder;
  readonly config: PipelineConfig;
  readonly imageDetector: FittedDetector;
  /** Crop-grid localization: one shared patch detector or one per position. */
  readonly patchDetectors: readonly FittedDetector[];
  /** Dense localization (null otherwise). */
  readonly denseMethod: FittedDenseMethod | null;
}

/** A dense method with the grid geometry it scores on and the model input it maps the grid to. */
export interface DenseScorer {
  readonly method: FittedDenseMethod;
  readonly grid: DenseLocalization['grid'];
  readonly sigma: number;
  readonly input: { readonly height: number; readonly width: number };
}

/** What raw scores need: the detectors and how the image score is formed (no calibration). */
export interface Scorer {
  readonly imageScore: ImageScoreMode;
  /** The views the image embedding is made of. */
  readonly views: ImageViews;
  readonly imageDetector: FittedDetector;
  readonly patches: { readonly detectors: readonly FittedDetector[]; readonly geometry: PatchGeometry } | null;
  readonly dense: DenseScorer | null;
}

export function scorerOf(model: FittedPipeline): Scorer {
  const loc = model.config.localization;
  const { height, width } = model.config.encoder.manifest.input;
  return {
    imageScore: model.config.imageScore,
    views: model.config.encoder.views ?? 'none',
    imageDetector: model.imageDetector,
    patches:
      loc && !isDenseLocalization(loc)
        ? { detectors: model.patchDetectors, geometry: (loc as CropsLocalization).geometry }
        : null,
    dense: isDenseLocalization(loc)
      ? { method: model.denseMethod!, grid: loc.grid, sigma: loc.sigma, input: { height, width } }
      : null,
  };
}

/** Embeddings a batch needs: patch grids only for heatmaps or an image score taken from them. */
export function featureNeeds(scorer: Scorer, heatmaps: boolean): FeatureNeeds {
  const wantGrid = heatmaps || scorer.imageScore !== 'image';
  return {
    image: scorer.imageScore === 'image',
    views: scorer.views,
    patches: wantGrid && scorer.patches ? scorer.patches.geometry : null,
    dense: wantGrid && scorer.dense ? denseNeeds(scorer.dense.method.method) : null,
  };
}

export function positionsOf(g: PatchGeometry): number {
  return g.gridRows * g.gridCols;
}

/** Patch anomaly scores, image-major (n x positions), from one detector or one per position. */
export async function patchAnomaly(
  detectors: readonly FittedDetector[],
  rows: Matrix,
  positions: number,
): Promise<Float64Array> {
  if (detectors.length === 1) return toAnomaly(await detectors[0].scoreSamples(rows));
  const n = rows.rows / positions;
  const out = new Float64Array(rows.rows);
  for (let p = 0; p < positions; p++) {
    const s = await detectors[p].scoreSamples(rowsAtPosition(rows, positions, p));
    for (let i = 0; i < n; i++) out[i * positions + p] = -s[i];
  }
  return out;
}

export function maxPerImage(grid: Float64Array, positions: number): Float64Array {
  const n = grid.length / positions;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let p = 0; p < positions; p++) m = Math.max(m, grid[i * positions + p]);
    out[i] = m;
  }
  return out;
}

/**
 * Raw anomaly scores (higher = more anomalous) of one batch's features, and the patch anomaly
 * grid when patches were embedded.
 */
export async function rawScores(
  scorer: Scorer,
  features: Features,
): Promise<{ raw: Float64Array; grid: Float64Array | null }> {
  if (scorer.dense) return denseRawScores(scorer, scorer.dense, features);
  const positions = scorer.patches ? positionsOf(scorer.patches.geometry) : 0;
  const grid =
    features.patches && scorer.patches
      ? await patchAnomaly(scorer.patches.detectors, features.patches, positions)
      : null;
  // featureNeeds guarantees the grid with 'heatmap-max' and image embeddings with 'image'.
  const raw =
    scorer.imageScore === 'heatmap-max'
      ? maxPerImage(grid!, positions)
      : toAnomaly(await scorer.imageDetector.scoreSamples(features.image!));
  return { raw, grid };
}

async function denseRawScores(
  scorer: Scorer,
  dense: DenseScorer,
  features: Features,
): Promise<{ raw: Float64Array; grid: Float64Array | null }> {
  const positions = dense.grid.height * dense.grid.width;
  const f = features.dense;
  const images = f ? (f.scores ? f.scores.length / positions : f.features!.rows / positions) : 0;
  const grid = f ? await dense.method.grid(f, images) : null;
  // featureNeeds guarantees the grid when the image score comes from it.
  const raw =
    scorer.imageScore === 'image'
      ? toAnomaly(await scorer.imageDetector.scoreSamples(features.image!))
      : await heatmapImageScores(grid!, images, dense, scorer.imageScore);
  return { raw, grid };
}

/** Scores, decisions and (when asked) heatmaps of one encoded batch. */
export async function scoreBatch(
  model: FittedPipeline,
  batch: EncodedBatch,
  options: { heatmaps: boolean; keepImages: boolean },
): Promise<ScoreResult> {
  const { images, skipped } = batch;
  if (images.length === 0) return { items: [], skipped };
  const { raw, grid } = await rawScores(scorerOf(model), batch.features);
  const { image: calibration, localization } = model.config;
  const score = normalize(raw, calibration);
  const raws = images.map((d) => d.raw);
  const maps =
    options.heatmaps && grid && localization
      ? isDenseLocalization(localization)
        ? await denseHeatmaps(grid, raws, scorerOf(model).dense!, localization.calibration)
        : await heatmapsOf(grid, raws, localization)
      : null;
  return {
    skipped,
    items: images.map((d, i) => ({
      id: d.id,
      index: d.index,
      raw: raw[i],
      score: score[i],
      anomalous: score[i] >= calibration.threshold,
      ...(maps ? { heatmap: maps[i] } : {}),
      ...(options.keepImages ? { image: d.raw } : {}),
    })),
  };
}

/** Scores a list of images batch by batch through the shared batch loop. */
export async function* scoreBatches(
  model: FittedPipeline,
  images: readonly NamedImage[],
  options: StreamOptions,
): AsyncGenerator<ScoreResult> {
  const heatmaps = options.heatmaps ?? false;
  const needs = featureNeeds(scorerOf(model), heatmaps);
  const batches = encodedBatches(images, {
    encoder: model.encoder,
    output: model.config.encoder.output,
    needs,
    batchSize: expectBatchSize('batchSize', options.batchSize, needs.patches ? PATCH_BATCH : DEFAULT_BATCH),
    onUnreadable: unreadablePolicy('onUnreadable', options.onUnreadable),
    size: options.allowResize ? null : model.config.input.size,
    stage: 'score',
    onProgress: options.onProgress,
  });
  const keepImages = options.keepImages ?? false;
  for await (const batch of batches) yield await scoreBatch(model, batch, { heatmaps, keepImages });
}

/**
 * Patch grids -> per-pixel maps: each patch score spread over its receptive field in the resized
 * square (native 'receptive-field' mode), then resized bilinearly to the image's own size.
 */
async function heatmapsOf(grid: Float64Array, images: readonly RawImage[], loc: CropsLocalization): Promise<Heatmap[]> {
  const g = loc.geometry;
  const normalized = Float32Array.from(normalize(grid, loc.calibration));
  const square = await upsampleHeatmaps(
    { data: normalized, batch: images.length, height: g.gridRows, width: g.gridCols },
    {
      height: g.resize,
      width: g.resize,
      mode: 'receptive-field',
      patchSize: g.patchSize,
      stride: g.stride,
      sigma: loc.sigma,
    },
  );
  const per = g.resize * g.resize;
  const out: Heatmap[] = [];
  for (let i = 0; i < images.length; i++) {
    const { width, height } = images[i];
    const one = square.data.subarray(i * per, (i + 1) * per);
    // Coverage-normalized spreading steps wherever a patch's support begins or ends (every
    // `stride` pixels); a Gaussian of half a stride (in output pixels) smooths those steps away.
    const sigma = (g.stride / 2) * (Math.min(width, height) / g.resize);
    // A view, not a copy: the native call copies its input itself.
    const resized = await upsampleHeatmaps(
      { data: one, batch: 1, height: g.resize, width: g.resize },
      { height, width, sigma },
    );
    out.push({ width, height, data: resized.data });
  }
  return out;
}
