/**
 * Detector: the whole two-stage pipeline as one object. An encoder turns images into embeddings,
 * stage-2 detectors score them, calibration (normalization + threshold) fitted on held-out
 * normal images turns scores into decisions, and patch detectors give per-pixel heatmaps.
 *
 *   const det = await Detector.fit({ encoder: 'models/x.onnx', images: files, detector: { kind: 'kde' }, localization: true });
 *   await det.save('tile.oneclass');            // one file, written atomically
 *   const same = await Detector.load('tile.oneclass');
 *   const { items, anomalous } = await same.predict(moreFiles);
 *
 * A thin facade: fitting is fit.ts, reading a model file load.ts, scoring scoring.ts over the
 * shared batch loop of batches.ts. Images are decoded, embedded and dropped batch by batch (fit
 * keeps only embeddings; scoring keeps nothing), so memory is bounded by the batch size.
 */
import type { Encoder } from '../encoder/index.js';
import { invalidInput } from '../errors.js';
import type { Matrix } from '../validate.js';
import { writeFileAtomic } from './atomic.js';
import { toAnomaly } from './calibration.js';
import { fitPipeline, fitPipelineFromTraining, type TrainingSet } from './fit.js';
import { nameImages } from './images.js';
import { type LoadOptions, loadPipeline } from './load.js';
import { encodeModelFile, type PipelineConfig } from './model-file.js';
import { type FittedPipeline, scoreBatches } from './scoring.js';
import type { FitOptions, PipelineImage, ScoreOptions, ScoreResult, StreamOptions } from './types.js';

export type {
  FitOptions,
  Heatmap,
  PipelineImage,
  Progress,
  ScoredImage,
  ScoreOptions,
  ScoreResult,
  StreamOptions,
} from './types.js';
export type { LoadOptions } from './load.js';

export class Detector {
  private readonly model: FittedPipeline;

  private constructor(model: FittedPipeline) {
    this.model = model;
  }

  get encoder(): Encoder {
    return this.model.encoder;
  }

  get config(): PipelineConfig {
    return this.model.config;
  }

  /**
   * The fitted parts (encoder, config, detectors) for schedulers that put several callers'
   * images into one batch and run the stages of scoring.ts themselves (serve/batcher.ts).
   */
  get pipeline(): FittedPipeline {
    return this.model;
  }

  get hasLocalization(): boolean {
    return this.config.localization !== null;
  }

  /** Threshold on `score` (normalized): anomalous when score >= threshold. */
  get threshold(): number {
    return this.config.image.threshold;
  }

  static async fit(options: FitOptions): Promise<Detector> {
    return new Detector(await fitPipeline(options));
  }

  /**
   * Fits on a training set embedded elsewhere (distributed fit: src/jobs/fit.ts); every step after
   * the embedding is Detector.fit's, so the same embeddings give the same model.
   */
  static async fitFromTraining(options: FitOptions, training: TrainingSet): Promise<Detector> {
    return new Detector(await fitPipelineFromTraining(options, training));
  }

  /** Reads a model file (see load.ts); nothing is written, not even a temporary file. */
  static async load(file: string, options: LoadOptions = {}): Promise<Detector> {
    return new Detector(await loadPipeline(file, options));
  }

  /** Writes the model file atomically (temporary file, then rename). */
  async save(file: string): Promise<void> {
    await writeFileAtomic(file, this.toBytes());
  }

  toBytes(): Uint8Array {
    return encodeModelFile({
      config: this.config,
      encoderBytes: this.config.encoder.embedded ? this.encoder.modelBytes : null,
      imageDetector: this.model.imageDetector.toBytes(),
      patchDetectors: this.model.denseMethod
        ? [this.model.denseMethod.toBytes()].filter((b): b is Uint8Array => b !== null)
        : this.model.patchDetectors.map((d) => d.toBytes()),
    });
  }

  /** Raw anomaly scores of image embeddings (for benchmarks and callers that embed themselves). */
  async scoreEmbeddings(embeddings: Matrix): Promise<Float64Array> {
    return toAnomaly(await this.model.imageDetector.scoreSamples(embeddings));
  }

  async release(): Promise<void> {
    await this.encoder.release();
  }

  /** Normalized anomaly scores (and raw ones) of images; unreadable ones per onUnreadable. */
  async score(images: readonly PipelineImage[], options: ScoreOptions = {}): Promise<ScoreResult> {
    return collect(this.stream(images, { ...options, heatmaps: false, keepImages: false }));
  }

  /** Scores plus decisions (anomalous when score >= the stored threshold). */
  async predict(
    images: readonly PipelineImage[],
    options: ScoreOptions = {},
  ): Promise<ScoreResult & { anomalous: boolean[] }> {
    const r = await this.score(images, options);
    return { ...r, anomalous: r.items.map((i) => i.anomalous) };
  }

  /** Scores and per-pixel heatmaps at each image's own size. */
  async localize(
    images: readonly PipelineImage[],
    options: ScoreOptions & { keepImages?: boolean } = {},
  ): Promise<ScoreResult> {
    this.requireLocalization();
    return collect(this.stream(images, { ...options, heatmaps: true }));
  }

  /**
   * Streams results batch by batch: nothing but the current batch is held, so it scales to image
   * sets of any size. Yields one ScoreResult per batch.
   */
  async *stream(images: readonly PipelineImage[], options: StreamOptions = {}): AsyncGenerator<ScoreResult> {
    const named = nameImages(images);
    if (options.heatmaps) this.requireLocalization();
    yield* scoreBatches(this.model, named, options);
  }

  private requireLocalization(): void {
    if (!this.hasLocalization) {
      throw invalidInput(
        'localization',
        'This model was fitted without localization; fit with localization to get heatmaps',
      );
    }
  }
}

async function collect(results: AsyncIterable<ScoreResult>): Promise<ScoreResult> {
  const all: ScoreResult = { items: [], skipped: [] };
  for await (const r of results) {
    all.items.push(...r.items);
    all.skipped.push(...r.skipped);
  }
  return all;
}
