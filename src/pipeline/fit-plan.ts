/**
 * The fit's plan: every option of Detector.fit checked and defaulted before any image is read
 * (fitPlan), and what the plan means for a given encoder: the localization method and the crop
 * grid (localizationMethod, fitGeometry). fit.ts runs the plan.
 */

import type { ComputeOptions } from '../detectors/common.js';
import {
  checkViews,
  Encoder,
  ENCODER_OUTPUTS,
  type EncoderOutput,
  IMAGE_VIEWS,
  type ImageViews,
} from '../encoder/index.js';
import { invalidArgument, invalidInput } from '../errors.js';
import {
  expectBatchSize,
  expectBoolean,
  expectInteger,
  expectKnownKeys,
  expectNumber,
  expectOneOf,
  expectOptions,
  expectPositiveNumber,
} from '../validate.js';
import { DEFAULT_BATCH } from './batches.js';
import {
  DEFAULT_CORESET_RATIO,
  DEFAULT_DENSE_METHOD,
  PATCH_METHODS,
  type PatchMethod,
  requireDenseOutputs,
} from './dense-localization.js';
import { type LocalizationOptions, type PatchGeometry, patchGeometry } from './features.js';
import { nameImages, type NamedImage, type UnreadablePolicy, unreadablePolicy } from './images.js';
import { type ImageScoreMode, imageScoreMode } from './model-file.js';
import { resolveDetector, type ResolvedDetector } from './registry.js';

import type { FitOptions, Progress } from './types.js';

/**
 * A dense encoder's image score when none is asked for: measured on the complete magnetic-tile
 * test set (docs/results.md, "Dense localization").
 */
export const DEFAULT_DENSE_IMAGE_SCORE: ImageScoreMode = 'heatmap-max';

interface LocalizationPlan {
  /** undefined: chosen from the encoder (its default dense method, or 'crops' without a dense block). */
  method: PatchMethod | undefined;
  /** resize / patchSize / stride as given; the grid is resolved with the encoder's defaults. */
  grid: Pick<LocalizationOptions, 'resize' | 'patchSize' | 'stride'>;
  detector: ResolvedDetector;
  perPosition: boolean;
  sigma: number | undefined;
  coresetRatio: number;
  maxMemory: number | undefined;
  /** Options that only the crop grid reads, as given (refused with a dense method). */
  cropsOnly: string[];
}

/** FitOptions, checked and defaulted. */
export interface FitPlan {
  images: NamedImage[];
  detector: ResolvedDetector;
  localization: LocalizationPlan | null;
  /** undefined: chosen from the encoder (a patch-level encoder scores by its highest patch). */
  imageScore: ImageScoreMode | undefined;
  output: EncoderOutput;
  /** undefined: chosen from the encoder (resolveViews). */
  views: ImageViews | undefined;
  holdout: number;
  quantile: number;
  validation: { images: NamedImage[]; labels: ArrayLike<number> } | null;
  refit: boolean;
  embedEncoder: boolean;
  batchSize: number;
  onUnreadable: UnreadablePolicy;
  seed: number;
  compute: ComputeOptions;
  onProgress?: (p: Progress) => void;
}

const CROPS_KEYS = ['resize', 'patchSize', 'stride', 'perPosition', 'detector'];
const LOCALIZATION_KEYS = [...CROPS_KEYS, 'sigma', 'method', 'coresetRatio', 'maxMemory'];

function localizationPlan(options: FitOptions): LocalizationPlan | null {
  const given = options.localization;
  if (given === undefined || given === false) return null;
  const o = given === true ? {} : given;
  expectKnownKeys('localization', expectOptions('localization', o), LOCALIZATION_KEYS);
  return {
    method: o.method === undefined ? undefined : expectOneOf('localization.method', o.method, PATCH_METHODS),
    grid: { resize: o.resize, patchSize: o.patchSize, stride: o.stride },
    // The patch detector is the image detector's kind and options unless given its own.
    detector: resolveDetector(o.detector ?? options.detector, 'localization.detector'),
    perPosition: o.perPosition === undefined ? false : expectBoolean('localization.perPosition', o.perPosition),
    sigma: o.sigma === undefined ? undefined : expectPositiveNumber('localization.sigma', o.sigma),
    coresetRatio:
      o.coresetRatio === undefined
        ? DEFAULT_CORESET_RATIO
        : expectNumber('localization.coresetRatio', o.coresetRatio, { min: 0, max: 1, exclusiveMin: true }),
    maxMemory: o.maxMemory === undefined ? undefined : expectInteger('localization.maxMemory', o.maxMemory, 1),
    cropsOnly: CROPS_KEYS.filter((k) => (o as Record<string, unknown>)[k] !== undefined),
  };
}

export function fitPlan(options: FitOptions): FitPlan {
  if (options === null || typeof options !== 'object') throw invalidArgument('options', 'an options object', options);
  const images = nameImages(options.images);
  const detector = resolveDetector(options.detector, 'detector');
  const localization = localizationPlan(options);
  const imageScore = options.imageScore === undefined ? undefined : imageScoreMode('imageScore', options.imageScore);
  if (imageScore !== undefined && imageScore !== 'image' && !localization)
    throw invalidInput('imageScore', `imageScore '${options.imageScore}' needs localization`);
  if (images.length === 0) throw invalidInput('images', 'The training set is empty: no images were given');
  let validation: FitPlan['validation'] = null;
  if (options.validation) {
    expectOptions('validation', options.validation);
    const vImages = nameImages(options.validation.images, 'validation.images');
    const labels = options.validation.labels;
    if (labels?.length !== vImages.length) {
      throw invalidInput(
        'validation.labels',
        `validation.labels has ${labels?.length} entries for ${vImages.length} images`,
      );
    }
    validation = { images: vImages, labels };
  }
  const flag = (name: 'refit' | 'embedEncoder', value: unknown) =>
    value === undefined ? true : expectBoolean(name, value);
  return {
    images,
    detector,
    localization,
    imageScore,
    output: options.output === undefined ? 'pooled' : expectOneOf('output', options.output, ENCODER_OUTPUTS),
    views:
      options.views === undefined || options.views === 'auto'
        ? undefined
        : expectOneOf('views', options.views, IMAGE_VIEWS),
    holdout:
      options.holdout === undefined
        ? 0.2
        : expectNumber('holdout', options.holdout, { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true }),
    quantile:
      options.thresholdQuantile === undefined
        ? 0.99
        : expectNumber('thresholdQuantile', options.thresholdQuantile, { min: 0, max: 1, exclusiveMin: true }),
    validation,
    refit: flag('refit', options.refit),
    embedEncoder: flag('embedEncoder', options.embedEncoder),
    batchSize: expectBatchSize('batchSize', options.batchSize, DEFAULT_BATCH),
    onUnreadable: unreadablePolicy('onUnreadable', options.onUnreadable),
    seed: options.seed === undefined ? 0 : expectInteger('seed', options.seed, 0),
    // Checked by each detector when it is fitted (detectors/common.ts).
    compute: { device: options.device, threads: options.threads },
    onProgress: options.onProgress,
  };
}

/**
 * The views a fit with these options embeds images in. By default the encoders whose training
 * saw quarter turns (manifest training.method 'rotation', or 'contrastive-da', where turned images
 * are the distribution augmentation) are scored over their four quarter turns, as Sohn et al.
 * evaluate them: on CIFAR-10 class 0 that lifted the rotation encoder's 1-NN / GDE / KDE AUROC
 * from 74.4 / 76.3 / 75.4 to 79.1 / 81.5 / 79.0 and the contrastive one's from 72.2 / 77.6 / 75.9
 * to 75.4 / 81.9 / 77.9 (docs/results.md). The CutPaste encoders never saw turned images.
 */
export function resolveViews(encoder: Encoder, plan: Pick<FitPlan, 'views'>): ImageViews {
  const [, height, width] = encoder.inputShape;
  if (plan.views !== undefined) {
    checkViews(plan.views, height, width);
    return plan.views;
  }
  const method = encoder.manifest.training?.method;
  return (method === 'rotation' || method === 'contrastive-da') && height === width ? 'rotations' : 'none';
}

/** The localization method a fit with these options uses on this encoder (null without localization). */
export function localizationMethod(encoder: Encoder, plan: FitPlan): PatchMethod | null {
  const loc = plan.localization;
  if (!loc) return null;
  const method = loc.method ?? (encoder.dense ? DEFAULT_DENSE_METHOD : 'crops');
  if (method === 'crops') return method;
  requireDenseOutputs(encoder, method, 'localization.method');
  if (loc.cropsOnly.length > 0) {
    throw invalidInput(
      `localization.${loc.cropsOnly[0]}`,
      `localization.${loc.cropsOnly[0]} applies to method 'crops' only, not to '${method}' (the dense grid is the encoder's)`,
    );
  }
  return method;
}

/** The crop grid a fit with these options embeds (null without localization or with a dense method). */
export function fitGeometry(encoder: Encoder, plan: FitPlan): PatchGeometry | null {
  return localizationMethod(encoder, plan) === 'crops' ? patchGeometry(encoder, plan.localization!.grid) : null;
}
