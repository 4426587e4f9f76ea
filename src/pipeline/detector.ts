/**
 * Detector: the whole two-stage pipeline as one object. An encoder turns images into embeddings,
 * stage-2 detectors score them, calibration (normalization + threshold) fitted on held-out
 * normal images turns scores into decisions, and patch detectors give per-pixel heatmaps.
 *
 *   const det = await Detector.fit({ encoder: 'models/x.onnx', images: files, detector: { kind: 'kde' }, localization: true });
 *   await det.save('tile.oneclass');            // one file, written atomically
 *   const same = await Detector.load('tile.oneclass');
 *   const { scores, anomalous } = await same.predict(moreFiles);
 *
 * Images are decoded, embedded and dropped batch by batch (fit keeps only embeddings; scoring
 * keeps nothing), so memory is bounded by the batch size, not by the number of images.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { shuffle } from '../datasets/subsample.js';
import type { DatasetItem } from '../datasets/types.js';
import {
  Encoder,
  type EncoderLoadOptions,
  type EncoderOutput,
  type ImageInput,
  type RawImage,
} from '../encoder/index.js';
import { OneclassError } from '../errors.js';
import { upsampleHeatmaps } from '../localization/heatmaps.js';
import type { Device, Matrix } from '../validate.js';
import { writeFileAtomic } from './atomic.js';
import { type Calibration, calibrateFromNormal, calibrateWithValidation, normalize, toAnomaly } from './calibration.js';
import {
  imageEmbeddings,
  type LocalizationOptions,
  type PatchGeometry,
  patchEmbeddings,
  patchGeometry,
  rowsAtPosition,
} from './features.js';
import {
  commonSize,
  decodeBatch,
  type DecodedImage,
  type ExpectedInput,
  nameImages,
  type NamedImage,
  type SkippedImage,
  type UnreadablePolicy,
} from './images.js';
import {
  encodeModelFile,
  type ImageScoreMode,
  packageVersion,
  type PipelineConfig,
  PIPELINE_VERSION,
  readModelFile,
  sha256,
} from './model-file.js';
import {
  type DetectorSpec,
  detectorKind,
  type FittedDetector,
  persistedOptions,
  resolveDetectorOptions,
} from './registry.js';

export type PipelineImage = ImageInput | DatasetItem;

export interface Progress {
  stage: 'embed' | 'fit' | 'calibrate' | 'score';
  done: number;
  total: number;
}

export interface FitOptions {
  /** An Encoder, or the path of an .onnx model with its manifest beside it. */
  encoder: Encoder | string;
  encoderOptions?: EncoderLoadOptions;
  /** Normal training images. */
  images: readonly PipelineImage[];
  /** Stage-2 detector: kind and its options (defaults: the papers' settings). */
  detector: DetectorSpec;
  /** Patch-level detectors for heatmaps; true = defaults. */
  localization?: boolean | (LocalizationOptions & { detector?: DetectorSpec });
  /** 'image' (default): the image-level detector; 'heatmap-max': the highest patch score. */
  imageScore?: ImageScoreMode;
  /** Encoder output fed to the detectors (default 'pooled'). */
  output?: EncoderOutput;
  /** Fraction of training images held out for calibration (default 0.2, at least 2 images). */
  holdout?: number;
  /** Quantile of held-out normal scores used as threshold without validation (default 0.99). */
  thresholdQuantile?: number;
  /** Labelled images (1 = anomalous): when given, thresholds are F1-optimal on them. */
  validation?: { images: readonly PipelineImage[]; labels: ArrayLike<number> };
  /** Refit the detectors on all training images after calibration (default true). */
  refit?: boolean;
  onUnreadable?: UnreadablePolicy;
  /** Store the ONNX encoder inside the model file (default true) or only its path + sha256. */
  embedEncoder?: boolean;
  batchSize?: number;
  seed?: number;
  device?: Device;
  threads?: number;
  onProgress?: (p: Progress) => void;
}

export interface ScoreOptions {
  batchSize?: number;
  onUnreadable?: UnreadablePolicy;
  /** Score images whose size differs from the (fixed) training size. */
  allowResize?: boolean;
  onProgress?: (p: Progress) => void;
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

const DEFAULT_BATCH = 32;
const LOCALIZE_BATCH = 8;

function batchSizeOption(v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 4096)) {
    throw new OneclassError(
      'ERR_INVALID_ARGUMENT',
      `Expected integer in [1, 4096] for batchSize but received ${String(v)}`,
      { path: 'batchSize' },
    );
  }
  return v;
}

function fraction(name: string, v: unknown, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  if (!(typeof v === 'number' && v > min && v < max)) {
    throw new OneclassError(
      'ERR_INVALID_ARGUMENT',
      `Expected a number in (${min}, ${max}) for ${name} but received ${String(v)}`,
      { path: name },
    );
  }
  return v;
}

/** Appends matrices of equal width without knowing the total in advance. */
class RowBuffer {
  private chunks: Matrix[] = [];
  add(m: Matrix): void {
    this.chunks.push(m);
  }
  matrix(): Matrix {
    const cols = this.chunks[0]?.cols ?? 0;
    const rows = this.chunks.reduce((s, m) => s + m.rows, 0);
    const data = new Float32Array(rows * cols);
    let at = 0;
    for (const m of this.chunks) {
      data.set(m.data, at);
      at += m.data.length;
    }
    return { data, rows, cols };
  }
}

function selectRows(m: Matrix, indices: readonly number[], per = 1): Matrix {
  const width = m.cols * per;
  const data = new Float32Array(indices.length * width);
  indices.forEach((r, i) => data.set(m.data.subarray(r * width, (r + 1) * width), i * width));
  return { data, rows: indices.length * per, cols: m.cols };
}

async function fitPatchDetectors(
  kind: string,
  options: Record<string, unknown>,
  rows: Matrix,
  positions: number,
  perPosition: boolean,
): Promise<FittedDetector[]> {
  const impl = await detectorKind(kind, 'localization.detector.kind');
  if (!perPosition) return [await impl.fit(rows, options)];
  const out: FittedDetector[] = [];
  for (let p = 0; p < positions; p++) out.push(await impl.fit(rowsAtPosition(rows, positions, p), options));
  return out;
}

/** Patch anomaly scores, image-major (n x positions), from one detector or one per position. */
async function patchAnomaly(detectors: FittedDetector[], rows: Matrix, positions: number): Promise<Float64Array> {
  if (detectors.length === 1) return toAnomaly(await detectors[0].scoreSamples(rows));
  const n = rows.rows / positions;
  const out = new Float64Array(rows.rows);
  for (let p = 0; p < positions; p++) {
    const s = await detectors[p].scoreSamples(rowsAtPosition(rows, positions, p));
    for (let i = 0; i < n; i++) out[i * positions + p] = -s[i];
  }
  return out;
}

function maxPerImage(grid: Float64Array, positions: number): Float64Array {
  const n = grid.length / positions;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let p = 0; p < positions; p++) m = Math.max(m, grid[i * positions + p]);
    out[i] = m;
  }
  return out;
}

export class Detector {
  readonly encoder: Encoder;
  readonly config: PipelineConfig;
  private readonly imageDetector: FittedDetector;
  private readonly patchDetectors: FittedDetector[];
  private readonly encoderBytes: Uint8Array | null;

  private constructor(
    encoder: Encoder,
    config: PipelineConfig,
    imageDetector: FittedDetector,
    patchDetectors: FittedDetector[],
    encoderBytes: Uint8Array | null,
  ) {
    this.encoder = encoder;
    this.config = config;
    this.imageDetector = imageDetector;
    this.patchDetectors = patchDetectors;
    this.encoderBytes = encoderBytes;
  }

  get hasLocalization(): boolean {
    return this.config.localization !== null;
  }

  /** Threshold on `score` (normalized): anomalous when score >= threshold. */
  get threshold(): number {
    return this.config.image.threshold;
  }

  static async fit(options: FitOptions): Promise<Detector> {
    if (options === null || typeof options !== 'object') {
      throw new OneclassError('ERR_INVALID_ARGUMENT', 'Expected an options object for Detector.fit', {
        path: 'options',
      });
    }
    const named = nameImages(options.images);
    const spec = options.detector;
    if (!spec || typeof spec !== 'object') {
      throw new OneclassError(
        'ERR_INVALID_ARGUMENT',
        "Expected an object { kind: 'kde' | 'gde' | 'knn' | 'ocsvm', ... } for detector",
        { path: 'detector' },
      );
    }
    const impl = await detectorKind(spec.kind);
    const compute = { device: options.device, threads: options.threads };
    const detOptions = {
      ...resolveDetectorOptions(spec, impl),
      ...Object.fromEntries(Object.entries(compute).filter(([, v]) => v !== undefined)),
    };
    const holdout = fraction('holdout', options.holdout, 0.2, 0, 1);
    const q = options.thresholdQuantile ?? 0.99;
    const output = options.output ?? 'pooled';
    const locRequested = options.localization !== undefined && options.localization !== false;
    const policy = options.onUnreadable ?? 'error';
    const batchSize = batchSizeOption(options.batchSize, DEFAULT_BATCH);
    const locOpts = options.localization === true ? {} : options.localization || null;
    if (options.imageScore === 'heatmap-max' && !locRequested) {
      throw new OneclassError('ERR_INVALID_ARGUMENT', "imageScore 'heatmap-max' needs localization", {
        path: 'imageScore',
      });
    }
    if (options.imageScore !== undefined && options.imageScore !== 'image' && options.imageScore !== 'heatmap-max') {
      throw new OneclassError(
        'ERR_INVALID_ARGUMENT',
        `Expected 'image' or 'heatmap-max' for imageScore but received ${String(options.imageScore)}`,
        { path: 'imageScore' },
      );
    }
    if (named.length === 0)
      throw new OneclassError('ERR_INVALID_ARGUMENT', 'The training set is empty: no images were given', {
        path: 'images',
      });

    const ownsEncoder = typeof options.encoder === 'string';
    const encoder =
      typeof options.encoder === 'string'
        ? await Encoder.load(options.encoder, options.encoderOptions)
        : options.encoder;
    try {
      // A patch-level encoder (manifest patchFrom) sees only patches: its image score is the
      // highest patch score (as python-export/evaluate.py scores it), unless asked otherwise.
      const imageScore: ImageScoreMode =
        options.imageScore ?? (locOpts && encoder.manifest.preprocess.patchFrom ? 'heatmap-max' : 'image');
      const geometry = locOpts ? patchGeometry(encoder, locOpts) : null;
      const positions = geometry ? geometry.gridRows * geometry.gridCols : 0;
      const locSpec = locOpts ? (locOpts.detector ?? spec) : null;
      const locImpl = locSpec ? await detectorKind(locSpec.kind, 'localization.detector.kind') : null;
      const locDetOptions =
        locSpec && locImpl
          ? {
              ...resolveDetectorOptions(locSpec, locImpl),
              ...Object.fromEntries(Object.entries(compute).filter(([, v]) => v !== undefined)),
            }
          : {};

      // 1. Embed every training image (and its patches), batch by batch.
      const imageRows = new RowBuffer();
      const patchRows = new RowBuffer();
      const skipped: SkippedImage[] = [];
      let channels = 0;
      let size: ExpectedInput['size'] | undefined;
      const step = geometry ? Math.min(batchSize, LOCALIZE_BATCH) : batchSize;
      // Decode batch k+1 while batch k is embedded (as in stream()).
      const decode = (start: number) => decodeBatch(named.slice(start, start + step), start, policy);
      let next: ReturnType<typeof decode> | undefined = decode(0);
      for (let start = 0; start < named.length; start += step) {
        const { decoded, skipped: s } = await next!;
        next = start + step < named.length ? decode(start + step) : undefined;
        next?.catch(() => undefined);
        skipped.push(...s);
        if (decoded.length === 0) continue;
        const raws = decoded.map((d) => d.raw);
        channels ||= raws[0].channels;
        const batchSizeCommon = commonSize(raws);
        size =
          size === undefined
            ? batchSizeCommon
            : size && batchSizeCommon && size.width === batchSizeCommon.width && size.height === batchSizeCommon.height
              ? size
              : null;
        imageRows.add(await imageEmbeddings(encoder, raws, output));
        if (geometry) patchRows.add(await patchEmbeddings(encoder, raws, geometry, output));
        options.onProgress?.({ stage: 'embed', done: Math.min(start + step, named.length), total: named.length });
      }
      const x = imageRows.matrix();
      if (x.rows === 0) {
        throw new OneclassError(
          'ERR_INVALID_ARGUMENT',
          `The training set is empty: all ${named.length} images were unreadable (${skipped.map((s) => s.id).join(', ')})`,
          {
            path: 'images',
          },
        );
      }
      const heldOutCount = Math.max(2, Math.round(x.rows * holdout));
      if (x.rows - heldOutCount < 2) {
        throw new OneclassError(
          'ERR_INVALID_ARGUMENT',
          `Too few training images: ${x.rows} readable, ${heldOutCount} held out for calibration leaves fewer than 2 to fit on; give at least 4`,
          { path: 'images' },
        );
      }
      // 2. Held-out split (seeded, so a refit gives the same model).
      const order = shuffle(
        Array.from({ length: x.rows }, (_, i) => i),
        options.seed ?? 0,
      );
      const held = order.slice(0, heldOutCount).sort((a, b) => a - b);
      const fitIdx = order.slice(heldOutCount).sort((a, b) => a - b);

      options.onProgress?.({ stage: 'fit', done: 0, total: 1 });
      let imageDet = await impl.fit(selectRows(x, fitIdx), detOptions);
      const patches = geometry ? patchRows.matrix() : null;
      let patchDets: FittedDetector[] = [];
      if (patches && locSpec)
        patchDets = await fitPatchDetectors(
          locSpec.kind,
          locDetOptions,
          selectRows(patches, fitIdx, positions),
          positions,
          locOpts!.perPosition ?? false,
        );
      options.onProgress?.({ stage: 'fit', done: 1, total: 1 });

      // 3. Calibration on the held-out images.
      options.onProgress?.({ stage: 'calibrate', done: 0, total: 1 });
      const heldPatchAnomaly = patches
        ? await patchAnomaly(patchDets, selectRows(patches, held, positions), positions)
        : null;
      const heldImageAnomaly =
        imageScore === 'heatmap-max'
          ? maxPerImage(heldPatchAnomaly!, positions)
          : toAnomaly(await imageDet.scoreSamples(selectRows(x, held)));
      let image: Calibration;
      if (options.validation) {
        const v = options.validation;
        const vNamed = nameImages(v.images);
        if (v.labels.length !== vNamed.length) {
          throw new OneclassError(
            'ERR_INVALID_ARGUMENT',
            `validation.labels has ${v.labels.length} entries for ${vNamed.length} images`,
            { path: 'validation.labels' },
          );
        }
        const tmp = new Detector(encoder, placeholderConfig(imageScore, geometry, output), imageDet, patchDets, null);
        const scored = await tmp.run(vNamed, { onUnreadable: 'error', allowResize: true }, false, false);
        const raw = Float64Array.from(scored.items.map((s) => s.raw));
        image = calibrateWithValidation(heldImageAnomaly, raw, v.labels);
      } else {
        image = calibrateFromNormal(heldImageAnomaly, q);
      }
      const pixel = heldPatchAnomaly ? calibrateFromNormal(heldPatchAnomaly, q) : null;
      options.onProgress?.({ stage: 'calibrate', done: 1, total: 1 });

      // 4. Refit on everything: thresholds were set with the held-out images unseen.
      if (options.refit ?? true) {
        imageDet = await impl.fit(x, detOptions);
        if (patches && locSpec)
          patchDets = await fitPatchDetectors(
            locSpec.kind,
            locDetOptions,
            patches,
            positions,
            locOpts!.perPosition ?? false,
          );
      }

      const embed = options.embedEncoder ?? true;
      const encoderBytes = new Uint8Array(await readFile(encoder.modelPath));
      const config: PipelineConfig = {
        versions: { oneclass: packageVersion(), layout: PIPELINE_VERSION, node: process.version },
        encoder: {
          file: path.basename(encoder.modelPath),
          sha256: sha256(encoderBytes),
          embedded: embed,
          ...(embed ? {} : { path: encoder.modelPath }),
          manifest: encoder.manifest,
          output,
        },
        detector: { kind: spec.kind, options: persistedOptions(detOptions) },
        imageScore,
        image,
        localization:
          geometry && pixel && locSpec
            ? {
                geometry,
                perPosition: locOpts!.perPosition ?? false,
                sigma: locOpts!.sigma ?? Math.max(1, geometry.patchSize / 4),
                detector: { kind: locSpec.kind, options: persistedOptions(locDetOptions) },
                calibration: pixel,
              }
            : null,
        input: { size: size ?? null, channels },
        training: {
          images: x.rows,
          heldOut: heldOutCount,
          skipped: skipped.map((s) => s.id),
          fittedAt: new Date().toISOString(),
        },
      };
      return new Detector(encoder, config, imageDet, patchDets, embed ? encoderBytes : null);
    } catch (error) {
      if (ownsEncoder) await encoder.release().catch(() => undefined);
      throw error;
    }
  }

  /** Writes the model file atomically (temporary file, then rename). */
  async save(file: string): Promise<void> {
    await writeFileAtomic(file, this.toBytes());
  }

  toBytes(): Uint8Array {
    return encodeModelFile({
      config: this.config,
      encoderBytes: this.encoderBytes,
      imageDetector: this.imageDetector.toBytes(),
      patchDetectors: this.patchDetectors.map((d) => d.toBytes()),
    });
  }

  /**
   * Reads a model file. An embedded encoder is unpacked into a private temporary folder for
   * ONNX Runtime and removed again; a referenced one is loaded from its path (or
   * `encoderPath`) after checking its sha256.
   */
  static async load(
    file: string,
    options: { device?: Device; threads?: number; encoderPath?: string; encoderOptions?: EncoderLoadOptions } = {},
  ): Promise<Detector> {
    const parts = await readModelFile(file);
    const { config } = parts;
    const compute = { device: options.device, threads: options.threads };
    // Detectors first: cheap, and a bad one should fail before an ONNX session is created.
    const impl = await detectorKind(config.detector.kind);
    const imageDetector = await impl.fromBytes(parts.imageDetector, config.detector.options, compute);
    const patchDetectors: FittedDetector[] = [];
    if (config.localization) {
      const li = await detectorKind(config.localization.detector.kind);
      for (const b of parts.patchDetectors)
        patchDetectors.push(await li.fromBytes(b, config.localization.detector.options, compute));
    }
    let encoder: Encoder;
    if (parts.encoderBytes) {
      const dir = await mkdtemp(path.join(tmpdir(), 'oneclass-encoder-'));
      try {
        const onnx = path.join(dir, 'encoder.onnx');
        await writeFile(onnx, parts.encoderBytes);
        await writeFile(
          path.join(dir, 'encoder.json'),
          JSON.stringify({ ...config.encoder.manifest, model: 'encoder.onnx' }),
        );
        encoder = await Encoder.load(onnx, {
          device: options.device,
          threads: options.threads,
          ...options.encoderOptions,
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    } else {
      const where = options.encoderPath ?? config.encoder.path!;
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await readFile(where));
      } catch (cause) {
        throw new OneclassError(
          'ERR_MODEL_FORMAT',
          `${file} references the encoder ${where}, which cannot be read: ${(cause as Error).message}`,
          { path: where, cause },
        );
      }
      if (sha256(bytes) !== config.encoder.sha256) {
        throw new OneclassError(
          'ERR_MODEL_FORMAT',
          `${file} was fitted with a different encoder than ${where} (sha256 ${config.encoder.sha256.slice(0, 12)}... expected)`,
          { path: where },
        );
      }
      encoder = await Encoder.load(where, {
        device: options.device,
        threads: options.threads,
        ...options.encoderOptions,
      });
    }
    return new Detector(encoder, config, imageDetector, patchDetectors, parts.encoderBytes);
  }

  /** Raw anomaly scores of image embeddings (for benchmarks and callers that embed themselves). */
  async scoreEmbeddings(embeddings: Matrix): Promise<Float64Array> {
    return toAnomaly(await this.imageDetector.scoreSamples(embeddings));
  }

  async release(): Promise<void> {
    await this.encoder.release();
  }

  /** Normalized anomaly scores (and raw ones) of images; unreadable ones per onUnreadable. */
  async score(images: readonly PipelineImage[], options: ScoreOptions = {}): Promise<ScoreResult> {
    return this.run(nameImages(images), options, false, false);
  }

  /** Scores plus decisions (anomalous when score >= the stored threshold). */
  async predict(
    images: readonly PipelineImage[],
    options: ScoreOptions = {},
  ): Promise<ScoreResult & { anomalous: boolean[] }> {
    const r = await this.run(nameImages(images), options, false, false);
    return { ...r, anomalous: r.items.map((i) => i.anomalous) };
  }

  /** Scores and per-pixel heatmaps at each image's own size. */
  async localize(
    images: readonly PipelineImage[],
    options: ScoreOptions & { keepImages?: boolean } = {},
  ): Promise<ScoreResult> {
    this.requireLocalization();
    return this.run(nameImages(images), options, true, options.keepImages ?? false);
  }

  /**
   * Streams results batch by batch: nothing but the current batch is held, so it scales to image
   * sets of any size. Yields one ScoreResult per batch.
   */
  async *stream(
    images: readonly PipelineImage[],
    options: ScoreOptions & { heatmaps?: boolean; keepImages?: boolean } = {},
  ): AsyncGenerator<ScoreResult> {
    const named = nameImages(images);
    const heatmaps = options.heatmaps ?? false;
    if (heatmaps) this.requireLocalization();
    const step = batchSizeOption(
      options.batchSize,
      heatmaps || this.config.imageScore === 'heatmap-max' ? LOCALIZE_BATCH : DEFAULT_BATCH,
    );
    const expected: ExpectedInput = options.allowResize ? { ...this.config.input, size: null } : this.config.input;
    // channels 0: the half-built detector that scores a validation set during fit checks nothing.
    const check = this.config.input.channels ? expected : undefined;
    const decode = (start: number) =>
      decodeBatch(named.slice(start, start + step), start, options.onUnreadable ?? 'error', check);
    // Decode batch k+1 (sharp, on libuv's threads) while batch k runs in ONNX Runtime: the two
    // stages take similar time, so overlapping them is most of the end-to-end throughput.
    let next = named.length > 0 ? decode(0) : undefined;
    for (let start = 0; start < named.length; start += step) {
      const decoded = await next!;
      next = start + step < named.length ? decode(start + step) : undefined;
      // Keep a failing prefetch from becoming an unhandled rejection if this batch throws first.
      next?.catch(() => undefined);
      const batch = await this.scoreDecoded(decoded, heatmaps, options.keepImages ?? false);
      options.onProgress?.({ stage: 'score', done: Math.min(start + step, named.length), total: named.length });
      yield batch;
    }
  }

  private requireLocalization(): void {
    if (!this.config.localization) {
      throw new OneclassError(
        'ERR_INVALID_ARGUMENT',
        'This model was fitted without localization; fit with localization to get heatmaps',
        { path: 'localization' },
      );
    }
  }

  private async run(
    named: NamedImage[],
    options: ScoreOptions,
    heatmaps: boolean,
    keepImages: boolean,
  ): Promise<ScoreResult> {
    const all: ScoreResult = { items: [], skipped: [] };
    for await (const r of this.stream(named as DatasetItem[], { ...options, heatmaps, keepImages })) {
      all.items.push(...r.items);
      all.skipped.push(...r.skipped);
    }
    return all;
  }

  private async scoreDecoded(
    { decoded, skipped }: { decoded: DecodedImage[]; skipped: SkippedImage[] },
    heatmaps: boolean,
    keepImages: boolean,
  ): Promise<ScoreResult> {
    if (decoded.length === 0) return { items: [], skipped };
    const raws = decoded.map((d) => d.raw);
    const { output } = this.config.encoder;
    const loc = this.config.localization;
    const positions = loc ? loc.geometry.gridRows * loc.geometry.gridCols : 0;
    const needPatches = loc !== null && (heatmaps || this.config.imageScore === 'heatmap-max');
    const grid = needPatches
      ? await patchAnomaly(
          this.patchDetectors,
          await patchEmbeddings(this.encoder, raws, loc!.geometry, output),
          positions,
        )
      : null;
    const raw =
      this.config.imageScore === 'heatmap-max'
        ? maxPerImage(grid!, positions)
        : toAnomaly(await this.imageDetector.scoreSamples(await imageEmbeddings(this.encoder, raws, output)));
    const score = normalize(raw, this.config.image);
    const maps = heatmaps && grid ? await this.heatmaps(grid, raws) : null;
    return {
      skipped,
      items: decoded.map((d, i) => ({
        id: d.id,
        index: d.index,
        raw: raw[i],
        score: score[i],
        anomalous: score[i] >= this.config.image.threshold,
        ...(maps ? { heatmap: maps[i] } : {}),
        ...(keepImages ? { image: d.raw } : {}),
      })),
    };
  }

  /**
   * Patch grids -> per-pixel maps: each patch score spread over its receptive field in the resized
   * square (native 'receptive-field' mode), then resized bilinearly to the image's own size.
   */
  private async heatmaps(grid: Float64Array, images: RawImage[]): Promise<Heatmap[]> {
    const loc = this.config.localization!;
    const g: PatchGeometry = loc.geometry;
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
      const resized = await upsampleHeatmaps(
        { data: one.slice(), batch: 1, height: g.resize, width: g.resize },
        { height, width, sigma },
      );
      out.push({ width, height, data: resized.data });
    }
    return out;
  }
}

/** Minimal config for scoring a validation set with a half-built detector during fit. */
function placeholderConfig(
  imageScore: ImageScoreMode,
  geometry: PatchGeometry | null,
  output: EncoderOutput,
): PipelineConfig {
  const neutral: Calibration = { center: 0, scale: 1, threshold: Infinity, method: 'quantile', value: 1, count: 0 };
  return {
    encoder: { output },
    imageScore,
    image: neutral,
    localization: geometry
      ? { geometry, perPosition: false, sigma: 1, detector: { kind: '', options: {} }, calibration: neutral }
      : null,
    input: { size: null, channels: 0 },
  } as unknown as PipelineConfig;
}
