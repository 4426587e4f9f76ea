/**
 * Fitting a pipeline, one small step per function:
 *
 *   fitPlan          every option checked and defaulted, before any image is read
 *   fitPipeline      encoder ownership (loaded here = released here on failure)
 *   embedTraining    the training set through the shared batch loop (batches.ts)
 *   heldOutSplit     seeded split: held-out images set the thresholds, the rest fit
 *   fitDetectors     image-level detector, patch detectors (crops: shared or one per position;
 *                    dense encoders: the method of dense-localization.ts)
 *   calibrate        normalization and thresholds from held-out (or labelled validation) scores,
 *                    scored with scoring.ts's rawScores on the partly fitted detectors
 *   assembleConfig   what the model file stores
 */
import path from 'node:path';

import { shuffle } from '../datasets/subsample.js';
import { expectMaxMemory, requireMemory } from '../detectors/memory-limit.js';
import { type DenseInfo, Encoder, type ImageViews } from '../encoder/index.js';
import { invalidArgument, invalidInput } from '../errors.js';
import { type Matrix } from '../validate.js';
import { DEFAULT_BATCH, encodedBatches, PATCH_BATCH } from './batches.js';
import { type Calibration, calibrateFromNormal, calibrateWithValidation } from './calibration.js';
import {
  DEFAULT_DENSE_SIGMA,
  type DenseFeatures,
  type DenseMethod,
  denseNeeds,
  fitDenseMethod,
  type FittedDenseMethod,
} from './dense-localization.js';
import { type PatchGeometry, rowsAtPosition } from './features.js';
import { commonSize, type ExpectedInput, type SkippedImage } from './images.js';
import { type ImageScoreMode, packageVersion, type PipelineConfig, PIPELINE_VERSION, sha256 } from './model-file.js';
import { type FittedDetector } from './registry.js';
import { RowBuffer, selectRows } from './rows.js';
import { featureNeeds, type FittedPipeline, positionsOf, rawScores, type Scorer } from './scoring.js';

import type { FitOptions, Progress } from './types.js';
import {
  DEFAULT_DENSE_IMAGE_SCORE,
  type FitPlan,
  fitGeometry,
  fitPlan,
  localizationMethod,
  resolveViews,
} from './fit-plan.js';

export {
  DEFAULT_DENSE_IMAGE_SCORE,
  type FitPlan,
  fitGeometry,
  fitPlan,
  localizationMethod,
  resolveViews,
} from './fit-plan.js';

/** Fits the whole pipeline; an encoder given as a path is loaded here and released on failure. */
export async function fitPipeline(options: FitOptions): Promise<FittedPipeline> {
  return fitOwningEncoder(options, null);
}

/**
 * Fits from a training set embedded elsewhere (distributed fit, src/jobs/fit.ts: workers embed
 * shards of `options.images` with `embedImages`, their rows concatenated in the images' order),
 * with every step after the embedding exactly as fitPipeline: the same rows give the same model.
 */
export async function fitPipelineFromTraining(options: FitOptions, training: TrainingSet): Promise<FittedPipeline> {
  return fitOwningEncoder(options, training);
}

async function fitOwningEncoder(options: FitOptions, training: TrainingSet | null): Promise<FittedPipeline> {
  const plan = fitPlan(options);
  const given = options.encoder;
  if (typeof given !== 'string' && !(given instanceof Encoder))
    throw invalidArgument('encoder', 'an Encoder or the path of an .onnx file', given);
  const encoder = typeof given === 'string' ? await Encoder.load(given, options.encoderOptions) : given;
  try {
    return await fitWithEncoder(encoder, plan, training);
  } catch (error) {
    if (typeof given === 'string') await encoder.release().catch(() => undefined);
    throw error;
  }
}

/** What the encoder decides: how images are scored, the crop grid or the dense method. */
interface ModelShape {
  imageScore: ImageScoreMode;
  geometry: PatchGeometry | null;
  dense: { method: DenseMethod; info: DenseInfo } | null;
  /** The views image embeddings are made of. */
  views: ImageViews;
}

function modelShape(encoder: Encoder, plan: FitPlan): ModelShape {
  const method = localizationMethod(encoder, plan);
  const dense = method && method !== 'crops' ? { method, info: encoder.dense! } : null;
  const imageScore =
    plan.imageScore ??
    (dense
      ? DEFAULT_DENSE_IMAGE_SCORE
      : plan.localization && encoder.manifest.preprocess.patchFrom
        ? 'heatmap-max'
        : 'image');
  if (imageScore === 'heatmap-top-k' && !dense)
    throw invalidInput('imageScore', "imageScore 'top-k-mean' needs a dense localization method");
  return { imageScore, geometry: fitGeometry(encoder, plan), dense, views: resolveViews(encoder, plan) };
}

async function fitWithEncoder(encoder: Encoder, plan: FitPlan, given: TrainingSet | null): Promise<FittedPipeline> {
  if (!plan.embedEncoder && encoder.modelPath === null) {
    throw invalidInput(
      'embedEncoder',
      'embedEncoder: false stores only the encoder file path, but this encoder was created from bytes; embed it instead',
    );
  }
  const shape = modelShape(encoder, plan);
  if (shape.dense) requireDenseMemory(plan, shape.dense);
  if (given && shape.dense)
    throw invalidInput(
      'localization.method',
      `A training set embedded elsewhere has no dense features for '${shape.dense.method}'`,
    );
  const training =
    given ??
    (await embedTraining(encoder, { ...plan, views: shape.views }, shape.geometry, shape.dense?.method ?? null));
  const split = heldOutSplit(training.image.rows, plan.holdout, plan.seed);
  const progress = (stage: Progress['stage'], done: number) => plan.onProgress?.({ stage, done, total: 1 });

  progress('fit', 0);
  let detectors = await fitDetectors(plan, shape, training, split.fit);
  progress('fit', 1);
  progress('calibrate', 0);
  const calibration = await calibrate(encoder, plan, shape, training, split.held, detectors);
  progress('calibrate', 1);
  // Refit on everything: the thresholds were set with the held-out images unseen.
  if (plan.refit) detectors = await fitDetectors(plan, shape, training, null);

  const config = assembleConfig(encoder, plan, shape, training, split.held.length, calibration, detectors.dense);
  return {
    encoder,
    config,
    imageDetector: detectors.image,
    patchDetectors: detectors.patches,
    denseMethod: detectors.dense,
  };
}

export interface TrainingSet {
  image: Matrix;
  /** Image-major patch embeddings (with crops localization). */
  patches: Matrix | null;
  /** A dense encoder's per-position outputs (with a dense localization method). */
  dense?: DenseTraining | null;
  skipped: SkippedImage[];
  input: ExpectedInput;
}

/** Per-position outputs of the training images: scores (images x positions), features (images*positions rows). */
export interface DenseTraining {
  scores: Matrix | null;
  features: Matrix | null;
}

/** Embeds every training image and checks that some were readable. */
async function embedTraining(
  encoder: Encoder,
  plan: FitPlan & { views: ImageViews },
  geometry: PatchGeometry | null,
  dense: DenseMethod | null,
): Promise<TrainingSet> {
  const training = await embedImages(encoder, plan, geometry, dense);
  if (training.image.rows === 0) {
    throw invalidInput(
      'images',
      `The training set is empty: all ${plan.images.length} images were unreadable (${training.skipped.map((s) => s.id).join(', ')})`,
    );
  }
  return training;
}

/**
 * Embeds images (and their patches), batch by batch; only embeddings are kept. Also what a
 * distributed fit's workers run on their shard (no rows is not an error there).
 */
export async function embedImages(
  encoder: Encoder,
  plan: Pick<FitPlan, 'images' | 'output' | 'batchSize' | 'onUnreadable' | 'onProgress'> & { views: ImageViews },
  geometry: PatchGeometry | null,
  dense: DenseMethod | null = null,
): Promise<TrainingSet> {
  const imageRows = new RowBuffer();
  const patchRows = new RowBuffer();
  const scoreRows = new RowBuffer();
  const featureRows = new RowBuffer();
  const needsDense = dense ? denseNeeds(dense) : null;
  const positions = dense ? encoder.dense!.gridHeight * encoder.dense!.gridWidth : 0;
  const skipped: SkippedImage[] = [];
  let channels = 0;
  let size: ExpectedInput['size'] | undefined;
  const batches = encodedBatches(plan.images, {
    encoder,
    output: plan.output,
    needs: { image: true, views: plan.views, patches: geometry, dense: needsDense },
    batchSize: geometry ? Math.min(plan.batchSize, PATCH_BATCH) : plan.batchSize,
    onUnreadable: plan.onUnreadable,
    size: null,
    stage: 'embed',
    onProgress: plan.onProgress,
  });
  for await (const { images, skipped: s, features } of batches) {
    skipped.push(...s);
    if (images.length === 0) continue;
    channels ||= images[0].raw.channels;
    size = commonSize(
      size,
      images.map((d) => d.raw),
    );
    imageRows.add(features.image!);
    if (features.patches) patchRows.add(features.patches);
    const d = features.dense;
    if (d?.scores) scoreRows.add({ data: d.scores, rows: images.length, cols: positions });
    if (d?.features) featureRows.add(d.features);
  }
  const image = imageRows.matrix();
  return {
    image,
    patches: geometry ? patchRows.matrix() : null,
    dense: needsDense
      ? {
          scores: needsDense.scores ? scoreRows.matrix() : null,
          features: needsDense.features ? featureRows.matrix() : null,
        }
      : null,
    skipped,
    input: { size: size ?? null, channels },
  };
}

/** Seeded, so a refit gives the same model. */
function heldOutSplit(rows: number, holdout: number, seed: number): { held: number[]; fit: number[] } {
  const held = Math.max(2, Math.round(rows * holdout));
  if (rows - held < 2) {
    throw invalidInput(
      'images',
      `Too few training images: ${rows} readable, ${held} held out for calibration leaves fewer than 2 to fit on; give at least 4`,
    );
  }
  const order = shuffle(
    Array.from({ length: rows }, (_, i) => i),
    seed,
  );
  const ascending = (a: number, b: number) => a - b;
  return { held: order.slice(0, held).sort(ascending), fit: order.slice(held).sort(ascending) };
}

interface Detectors {
  image: FittedDetector;
  patches: FittedDetector[];
  dense: FittedDenseMethod | null;
}

/** The dense outputs of the given training images (null: all). */
function denseRows(training: DenseTraining, positions: number, images: readonly number[] | null): DenseFeatures {
  const pick = (m: Matrix | null, per: number) => (m && images ? selectRows(m, images, per) : m);
  return {
    scores: pick(training.scores, 1)?.data ?? null,
    features: pick(training.features, positions),
  };
}

/** Fits on the given training images (null: all of them). */
async function fitDetectors(
  plan: FitPlan,
  shape: ModelShape,
  training: TrainingSet,
  images: readonly number[] | null,
): Promise<Detectors> {
  const image = await plan.detector.fit(images ? selectRows(training.image, images) : training.image, plan.compute);
  const loc = plan.localization;
  if (loc && shape.dense && training.dense) {
    const positions = shape.dense.info.gridHeight * shape.dense.info.gridWidth;
    const count = images ? images.length : training.image.rows;
    const dense = await fitDenseMethod(
      denseRows(training.dense, positions, images),
      count,
      {
        method: shape.dense.method,
        positions,
        coresetRatio: loc.coresetRatio,
        maxMemory: loc.maxMemory,
        onProgress: (done, total) => plan.onProgress?.({ stage: 'fit', done, total }),
      },
      plan.compute,
    );
    return { image, patches: [], dense };
  }
  if (!loc || !shape.geometry || !training.patches) return { image, patches: [], dense: null };
  const positions = positionsOf(shape.geometry);
  const rows = images ? selectRows(training.patches, images, positions) : training.patches;
  if (!loc.perPosition) return { image, patches: [await loc.detector.fit(rows, plan.compute)], dense: null };
  const patches: FittedDetector[] = [];
  for (let p = 0; p < positions; p++)
    patches.push(await loc.detector.fit(rowsAtPosition(rows, positions, p), plan.compute));
  return { image, patches, dense: null };
}

/** Image (and pixel) calibration from the held-out images' scores. */
async function calibrate(
  encoder: Encoder,
  plan: FitPlan,
  shape: ModelShape,
  training: TrainingSet,
  held: readonly number[],
  detectors: Detectors,
): Promise<{ image: Calibration; pixel: Calibration | null }> {
  const { height, width } = encoder.manifest.input;
  const info = shape.dense?.info;
  const scorer: Scorer = {
    imageScore: shape.imageScore,
    views: shape.views,
    imageDetector: detectors.image,
    patches: shape.geometry ? { detectors: detectors.patches, geometry: shape.geometry } : null,
    dense:
      info && detectors.dense
        ? {
            method: detectors.dense,
            grid: { height: info.gridHeight, width: info.gridWidth, stride: info.stride },
            sigma: denseSigma(plan),
            input: { height, width },
          }
        : null,
  };
  const positions = shape.geometry ? positionsOf(shape.geometry) : 0;
  const { raw, grid } = await rawScores(scorer, {
    image: selectRows(training.image, held),
    patches: training.patches ? selectRows(training.patches, held, positions) : null,
    dense: info && training.dense ? denseRows(training.dense, info.gridHeight * info.gridWidth, held) : null,
  });
  const image = plan.validation
    ? calibrateWithValidation(raw, await validationScores(encoder, plan, scorer), plan.validation.labels)
    : calibrateFromNormal(raw, plan.quantile);
  return { image, pixel: grid ? calibrateFromNormal(grid, plan.quantile) : null };
}

/** Raw scores of the labelled validation images, through the same batch loop as scoring. */
async function validationScores(encoder: Encoder, plan: FitPlan, scorer: Scorer): Promise<Float64Array> {
  const needs = featureNeeds(scorer, false);
  const raw: number[] = [];
  const batches = encodedBatches(plan.validation!.images, {
    encoder,
    output: plan.output,
    needs,
    batchSize: needs.patches ? PATCH_BATCH : DEFAULT_BATCH,
    onUnreadable: 'error',
    size: null,
    stage: 'calibrate',
  });
  for await (const batch of batches)
    if (batch.images.length > 0) raw.push(...(await rawScores(scorer, batch.features)).raw);
  return Float64Array.from(raw);
}

/**
 * patchcore and padim keep every training image's feature grid (and a copy while the batches are
 * joined): more than localization.maxMemory is refused before the first image is embedded.
 */
function requireDenseMemory(plan: FitPlan, dense: NonNullable<ModelShape['dense']>): void {
  const { info, method } = dense;
  if (!denseNeeds(method).features) return;
  const positions = info.gridHeight * info.gridWidth;
  const bytes = 2 * plan.images.length * positions * info.features!.channels * 4;
  requireMemory(
    'localization.maxMemory',
    `the patch features of ${plan.images.length} training images (${positions} positions x ${info.features!.channels})`,
    bytes,
    expectMaxMemory('localization.maxMemory', plan.localization!.maxMemory),
  );
}

/** The dense heatmaps' blur, in model-input pixels. */
function denseSigma(plan: FitPlan): number {
  return plan.localization?.sigma ?? DEFAULT_DENSE_SIGMA;
}

function assembleConfig(
  encoder: Encoder,
  plan: FitPlan,
  shape: ModelShape,
  training: TrainingSet,
  heldOut: number,
  calibration: { image: Calibration; pixel: Calibration | null },
  dense: FittedDenseMethod | null,
): PipelineConfig {
  const loc = plan.localization;
  const { geometry } = shape;
  const info = shape.dense?.info;
  return {
    versions: { oneclass: packageVersion(), layout: PIPELINE_VERSION, node: process.version },
    encoder: {
      file: encoder.modelPath ? path.basename(encoder.modelPath) : 'encoder.onnx',
      sha256: sha256(encoder.modelBytes),
      size: encoder.modelBytes.length,
      embedded: plan.embedEncoder,
      ...(plan.embedEncoder ? {} : { path: encoder.modelPath! }),
      manifest: encoder.manifest,
      output: plan.output,
      // Files without views were fitted on the image alone; old readers refuse files with views
      // (a newer layout version, model-file.ts).
      ...(shape.views === 'none' ? {} : { views: shape.views }),
    },
    detector: { kind: plan.detector.kind, options: { ...plan.detector.options } },
    imageScore: shape.imageScore,
    image: calibration.image,
    localization:
      info && dense && calibration.pixel
        ? {
            method: dense.method,
            grid: { height: info.gridHeight, width: info.gridWidth, stride: info.stride },
            sigma: denseSigma(plan),
            calibration: calibration.pixel,
            ...dense.summary(),
          }
        : geometry && calibration.pixel && loc
          ? {
              geometry,
              perPosition: loc.perPosition,
              sigma: loc.sigma ?? Math.max(1, geometry.patchSize / 4),
              detector: { kind: loc.detector.kind, options: { ...loc.detector.options } },
              calibration: calibration.pixel,
            }
          : null,
    input: training.input,
    training: {
      images: training.image.rows,
      heldOut,
      skipped: training.skipped.map((s) => s.id),
      fittedAt: new Date().toISOString(),
    },
  };
}
