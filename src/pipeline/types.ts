/** Public types of the pipeline: what Detector.fit / score / localize take and return. */
import type { DatasetItem } from '../datasets/types.js';
import type { Encoder, EncoderLoadOptions, EncoderOutput, ImageInput, ImageViews, RawImage } from '../encoder/index.js';
import type { Device } from '../validate.js';
import type { LocalizationOptions } from './features.js';
import type { SkippedImage, UnreadablePolicy } from './images.js';
import type { ImageScoreName } from './model-file.js';
import type { DetectorSpec } from './registry.js';

export type PipelineImage = ImageInput | DatasetItem;

export interface Progress {
  stage: 'embed' | 'fit' | 'calibrate' | 'score';
  done: number;
  total: number;
}

export interface FitOptions {
  /** An Encoder, or the path of an .onnx model with its manifest beside it. */
  encoder: Encoder | string;
  /** Options for loading `encoder` when it is a path. */
  encoderOptions?: EncoderLoadOptions;
  /** Normal training images. */
  images: readonly PipelineImage[];
  /** Stage-2 detector: kind and its options (defaults: the papers' settings). */
  detector: DetectorSpec;
  /** Patch-level detectors for heatmaps; true = defaults; the patch detector defaults to `detector`. */
  localization?: boolean | (LocalizationOptions & { detector?: DetectorSpec });
  /**
   * 'detector': the image-level detector; 'max': the highest value of the heatmap (crops: the
   * highest patch score); 'top-k-mean': the mean of the smoothed heatmap's largest 1% (dense
   * methods). Default: 'max' for dense methods and patch-level encoders, else 'detector'. The
   * older names 'image' and 'heatmap-max' are accepted.
   */
  imageScore?: ImageScoreName;
  /** Encoder output fed to the detectors (default 'pooled'). */
  output?: EncoderOutput;
  /**
   * Views each image is embedded in, at fit and at scoring: 'rotations' (the image and its three
   * quarter turns, concatenated; Sohn et al.'s test-time views), 'none', or 'auto' (default:
   * 'rotations' for encoders trained to predict rotations, 'none' otherwise; docs/pipeline.md).
   */
  views?: ImageViews | 'auto';
  /** Fraction of training images held out for calibration (default 0.2, at least 2 images). */
  holdout?: number;
  /** Quantile of held-out normal scores used as threshold without validation (default 0.99). */
  thresholdQuantile?: number;
  /** Labelled images (1 = anomalous): when given, thresholds are F1-optimal on them. */
  validation?: { images: readonly PipelineImage[]; labels: ArrayLike<number> };
  /** Refit the detectors on all training images after calibration (default true). */
  refit?: boolean;
  /** 'error' (default) or 'skip' (and record) images that cannot be decoded. */
  onUnreadable?: UnreadablePolicy;
  /** Store the ONNX encoder inside the model file (default true) or only its path + sha256. */
  embedEncoder?: boolean;
  /** Images per batch (default 32; 8 with localization). */
  batchSize?: number;
  /** Seed of the held-out split (default 0). */
  seed?: number;
  /** Where the detectors run (default 'auto'). */
  device?: Device;
  /** CPU threads of the detectors (default: all cores). */
  threads?: number;
  onProgress?: (p: Progress) => void;
}

export interface ScoreOptions {
  /** Images per batch (default 32; 8 when heatmaps are computed). */
  batchSize?: number;
  onUnreadable?: UnreadablePolicy;
  /** Score images whose size differs from the (fixed) training size. */
  allowResize?: boolean;
  onProgress?: (p: Progress) => void;
}

export interface StreamOptions extends ScoreOptions {
  /** Compute per-pixel heatmaps (the model must have localization). */
  heatmaps?: boolean;
  /** Keep each decoded image in its result (for overlays). */
  keepImages?: boolean;
}

export interface Heatmap {
  width: number;
  height: number;
  /** Normalized pixel anomaly scores (same scale for every image), row-major. */
  data: Float32Array;
}

export interface ScoredImage {
  id: string;
  /** Position in the list given. */
  index: number;
  /** Raw anomaly score: minus the detector's score_samples (higher = more anomalous). */
  raw: number;
  /** (raw - center) / scale with the stored normalization. */
  score: number;
  anomalous: boolean;
  heatmap?: Heatmap;
  /** The decoded image (only with keepImages, for overlays). */
  image?: RawImage;
}

export interface ScoreResult {
  items: ScoredImage[];
  skipped: SkippedImage[];
}
