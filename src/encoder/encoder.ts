/**
 * Encoder: an exported self-supervised model (ONNX bytes + manifest) that turns images into
 * embedding matrices for the stage-2 one-class detectors.
 *
 * Preprocessing reproduces python-export/preprocess.py bit for bit (decode.ts, resize.ts,
 * normalize.ts, preprocess.ts); see docs/encoders.md for the measured parity with PyTorch.
 *
 * The session is always created from the model's bytes, which the encoder keeps: a model file
 * can embed exactly the graph that runs (no second read of a file that may have changed), and
 * loading an encoder out of a model file needs no temporary file (`fromBytes`). Sessions run in
 * worker threads (inference-pool.ts): decoding (sharp), preprocessing (native) and inference all
 * happen off the JS thread.
 */
import path from 'node:path';
import type { Metadata } from 'sharp';

import { describe, invalidArgument, invalidInput, OneclassError } from '../errors.js';
import { prefetched } from '../prefetch.js';
import { type Backend, expectArray, expectBoolean, expectString, type Matrix } from '../validate.js';
import { decodeImage, describeInput } from './decode.js';
import { InferencePool, type RunOutput } from './inference-pool.js';
import { colourPolicyOf, type EncoderManifest, outputSize, readManifest, validateManifest } from './manifest.js';
import { budgetBatch, type DecodeLimits } from './pixel-budget.js';
import { buildNormalizeTable } from './normalize.js';
import {
  type EmbedOptions,
  type EncoderFromBytesOptions,
  type EncoderLoadOptions,
  resolveEmbedOptions,
  resolveLoadOptions,
  type ResolvedLoadOptions,
} from './options.js';
import { preprocessInto } from './preprocess.js';
import { ENCODER_OUTPUTS, type EncoderOutput, type ImageInput, type RawImage } from './types.js';
import { checkViews, type ImageViews, joinViews, rotatedViews, viewCount } from './views.js';

import {
  checkGraphAgainstManifest,
  type DenseInfo,
  denseInfo,
  type ForwardOptions,
  type ForwardResult,
  type ModelColour,
  manifestPathFor,
  type Origin,
  readModelBytes,
} from './encoder-parts.js';

export {
  type DenseInfo,
  type ForwardOptions,
  type ForwardResult,
  manifestPathFor,
  type ModelColour,
} from './encoder-parts.js';

/**
 * Largest input of one full batch (batchSize images, float32) for which workers 'auto' runs two
 * CPU workers (a part is copied on the calling thread on its way to its worker). Measured with
 * bench/encoder-workers.mjs on the 2-core machine, `embed` with two workers against one: the
 * 32 px CIFAR-10 encoder (64 x 3 x 32 x 32 floats, 0.8 MB) 1.26-1.31x; the 128 px magnetic-tile
 * encoder (4 MB) 0.99-1.08x; the 256 px dense encoder 1.02x. So two only for small inputs.
 */
const AUTO_SPLIT_BYTES = 2 * 1024 * 1024;

export class Encoder {
  /** The .onnx file the model was read from; null when it was given as bytes without a path. */
  readonly modelPath: string | null;
  /** The manifest file; null when the manifest was given as an object. */
  readonly manifestPath: string | null;
  readonly manifest: EncoderManifest;
  /** The ONNX model the session runs (what a model file embeds). */
  readonly modelBytes: Uint8Array;
  /** Backend the session runs on. */
  readonly backend: Backend;
  /** Why CUDA is not used although device 'auto' or 'cuda' asked for it; null otherwise. */
  readonly fallbackReason: string | null;
  readonly batchSize: number;
  /** Decoded-pixel limits of this encoder's inputs (and of the pipeline's batches). */
  readonly decodeLimits: DecodeLimits;
  /**
   * Inference workers running the model (load option `workers`): how many batches run at once,
   * which the dynamic batcher and `embed` keep busy.
   */
  get workers(): number {
    return this.pool.workerCount;
  }
  /** Refuse gray/RGB mismatches and alpha instead of converting (load option strictColour). */
  readonly strictColour: boolean;
  /** The per-position outputs of a dense encoder; null for an image-level encoder. */
  readonly dense: DenseInfo | null;
  private readonly label: string;
  private readonly pool: InferencePool;
  private readonly normalizeTable: Float32Array;
  private readonly calls = new Set<Promise<unknown>>();
  private releasing = false;

  private constructor(
    origin: Origin,
    manifest: EncoderManifest,
    modelBytes: Uint8Array,
    pool: InferencePool,
    opts: ResolvedLoadOptions,
  ) {
    this.modelPath = origin.modelPath;
    this.manifestPath = origin.manifestPath;
    this.label = origin.label;
    this.manifest = manifest;
    this.modelBytes = modelBytes;
    this.pool = pool;
    this.backend = pool.graph.backend;
    this.fallbackReason = pool.graph.fallbackReason;
    this.batchSize = opts.batchSize;
    this.decodeLimits = opts.limits;
    this.strictColour = opts.strictColour;
    this.normalizeTable = buildNormalizeTable(manifest.preprocess.mean, manifest.preprocess.std);
    this.dense = denseInfo(manifest);
  }

  /**
   * Loads `<name>.onnx` and its manifest `<name>.json`. Rejects with ERR_MODEL_FORMAT when either
   * is missing or corrupt, or when the graph's input/outputs disagree with the manifest.
   */
  static async load(modelPath: string, options?: EncoderLoadOptions): Promise<Encoder> {
    expectString('modelPath', modelPath, 'path of an .onnx file');
    const opts = resolveLoadOptions(options);
    const resolved = path.resolve(modelPath);
    const bytes = await readModelBytes(resolved);
    const manifestPath = manifestPathFor(resolved);
    const manifest = await readManifest(manifestPath);
    return Encoder.create(bytes, manifest, opts, { modelPath: resolved, manifestPath, label: resolved });
  }

  /**
   * An encoder from ONNX bytes and a manifest object (e.g. both read out of a model file): no
   * file is read or written. The bytes are copied, so the caller may reuse its array.
   */
  static async fromBytes(
    onnxBytes: Uint8Array,
    manifest: EncoderManifest,
    options: EncoderFromBytesOptions = {},
  ): Promise<Encoder> {
    if (!(onnxBytes instanceof Uint8Array)) throw invalidArgument('onnxBytes', 'Uint8Array', onnxBytes);
    const { path: modelPath, label, ...load } = options ?? {};
    const opts = resolveLoadOptions(load);
    const name = label ?? modelPath ?? 'encoder bytes';
    const checked = validateManifest(manifest, `${name} (manifest)`);
    return Encoder.create(onnxBytes.slice(), checked, opts, {
      modelPath: modelPath ?? null,
      manifestPath: null,
      label: name,
    });
  }

  private static async create(
    bytes: Uint8Array,
    manifest: EncoderManifest,
    opts: ResolvedLoadOptions,
    origin: Origin,
  ): Promise<Encoder> {
    const { channels, height, width } = manifest.input;
    const batchBytes = opts.batchSize * channels * height * width * 4;
    // 'auto' runs two CPU workers only for small inputs (inference-pool.ts, AUTO_CPU_WORKERS):
    // there one session's thread hand-offs cost most, and a batch is cheap to split between them
    // (run() copies each worker's part). Larger inputs keep one worker with every thread.
    const workers = opts.workers === 'auto' && batchBytes > AUTO_SPLIT_BYTES ? 1 : opts.workers;
    const pool = await InferencePool.create(
      bytes,
      { ...opts, workers, nice: opts.inferenceNice },
      {
        label: origin.label,
        path: origin.modelPath ?? undefined,
      },
    );
    try {
      checkGraphAgainstManifest(pool.graph, manifest, origin);
    } catch (error) {
      await pool.release();
      throw error;
    }
    return new Encoder(origin, manifest, bytes, pool, opts);
  }

  /** Model input as [channels, height, width]. */
  get inputShape(): readonly [number, number, number] {
    const { channels, height, width } = this.manifest.input;
    return [channels, height, width];
  }

  outputSize(output: EncoderOutput): number {
    return outputSize(this.manifest, output);
  }

  /**
   * What decodeImage must produce for this model: its channels and the manifest's colour policy
   * (`decodeImage(input, label, { target: encoder.colourTarget() })` decodes an image the way
   * embed() does; the pipeline decodes every image so).
   */
  colourTarget(strictColour: boolean = this.strictColour): ModelColour {
    return {
      channels: this.manifest.input.channels,
      policy: colourPolicyOf(this.manifest),
      strict: strictColour,
      model: `model ${this.label}`,
    };
  }

  /**
   * Decodes and preprocesses images into the model's input tensor (N x C x H x W float32), exactly
   * as training did. Exposed for parity tests and for callers that cache inputs.
   */
  async preprocess(images: readonly ImageInput[], options?: { strictColour?: boolean }): Promise<Float32Array> {
    const list = expectArray<ImageInput>('images', images, 'an array of images');
    const { strictColour } = resolveEmbedOptions(options, this.batchSize, this.strictColour);
    return this.preprocessRange(list, 0, this.colourTarget(strictColour), null);
  }

  /** Embeds images; returns an images.length x outputSize(output) row-major matrix. */
  async embed(images: readonly ImageInput[], options?: EmbedOptions): Promise<Matrix> {
    const { output, batchSize, strictColour, views } = resolveEmbedOptions(options, this.batchSize, this.strictColour);
    this.checkViews(views);
    return (await this.embedBatches(images, [output], batchSize, this.colourTarget(strictColour), views))[output]!;
  }

  /** Embeds images once and returns both outputs. */
  async embedAll(
    images: readonly ImageInput[],
    options?: Omit<EmbedOptions, 'output'>,
  ): Promise<Record<EncoderOutput, Matrix>> {
    const { batchSize, strictColour, views } = resolveEmbedOptions(options, this.batchSize, this.strictColour);
    this.checkViews(views);
    return (await this.embedBatches(
      images,
      ENCODER_OUTPUTS,
      batchSize,
      this.colourTarget(strictColour),
      views,
    )) as Record<EncoderOutput, Matrix>;
  }

  /**
   * Embeds images that are already decoded (the pipeline decodes them itself, a batch ahead, to
   * colourTarget()): preprocessing of the whole list runs concurrently off the JS thread, then
   * inference in chunks of the encoder's batch size. An image not in the model's colour space is
   * converted as embed() converts raw pixels (refused in strict mode). `labels[i]` names image i
   * in errors.
   */
  async embedDecoded(
    images: readonly RawImage[],
    options: EmbedOptions & { labels?: readonly string[] } = {},
  ): Promise<Matrix> {
    const { labels, ...embed } = options;
    const { output, batchSize, strictColour, views } = resolveEmbedOptions(embed, this.batchSize, this.strictColour);
    this.checkViews(views);
    const list = expectArray<RawImage>('images', images, 'an array of decoded images');
    const target = this.colourTarget(strictColour);
    return this.tracked(async () => {
      const tensor = await this.decodedTensor(list, labels, target);
      return this.runTensor(tensor, list.length, output, batchSize, true, views);
    });
  }

  /**
   * One forward pass over decoded images (as embedDecoded) returning what is asked for among the
   * image-level output and a dense encoder's per-position scores and features; only those are
   * fetched from ONNX Runtime. Asking a non-dense encoder (or one without that output) for scores
   * or features is ERR_INVALID_ARGUMENT naming the option.
   */
  async forwardDecoded(images: readonly RawImage[], options: ForwardOptions = {}): Promise<ForwardResult> {
    const { labels, output: given, scores: wantScores, features: wantFeatures, ...embed } = options ?? {};
    // One forward pass per image here; views go through embedDecoded.
    const givenViews = (embed as { views?: unknown }).views;
    if (givenViews !== undefined && givenViews !== 'none')
      throw invalidArgument('options.views', "'none' (forwardDecoded runs one pass per image)", givenViews);
    const { output, batchSize, strictColour } = resolveEmbedOptions(
      { ...embed, ...(given ? { output: given } : {}) },
      this.batchSize,
      this.strictColour,
    );
    const imageOutput = given === null ? null : output;
    const scores = wantScores === undefined ? false : expectBoolean('options.scores', wantScores);
    const features = wantFeatures === undefined ? false : expectBoolean('options.features', wantFeatures);
    const dense = this.dense;
    if (scores && !dense?.scores)
      throw invalidArgument('options.scores', `an encoder with a dense 'scores' output (${this.label} has none)`, true);
    if (features && !dense?.features)
      throw invalidArgument(
        'options.features',
        `an encoder with a dense 'features' output (${this.label} has none)`,
        true,
      );
    const list = expectArray<RawImage>('images', images, 'an array of decoded images');
    const n = list.length;
    const positions = dense ? dense.gridHeight * dense.gridWidth : 0;
    const outputs: RunOutput[] = [];
    if (imageOutput) outputs.push({ name: imageOutput, cols: this.outputSize(imageOutput) });
    if (scores) outputs.push({ name: dense!.scores!.name, cols: positions });
    if (features) {
      const c = dense!.features!.channels;
      // Shared memory: the detectors' native calls read the grids in place (inference-pool.ts).
      outputs.push({ name: dense!.features!.name, cols: c * positions, transpose: [c, positions], shared: true });
    }
    const target = this.colourTarget(strictColour);
    return this.tracked(async () => {
      let res: Record<string, Float32Array> = {};
      if (n > 0 && outputs.length > 0) {
        const tensor = await this.decodedTensor(list, labels, target);
        const [c, h, w] = this.inputShape;
        res = await this.pool.run({
          input: tensor,
          transfer: true,
          count: n,
          dims: [c, h, w],
          inputName: this.manifest.input.name,
          outputs,
          batchSize,
        });
      }
      const take = (name: string, cols: number) => res[name] ?? new Float32Array(n * cols);
      return {
        image: imageOutput
          ? { data: take(imageOutput, this.outputSize(imageOutput)), rows: n, cols: this.outputSize(imageOutput) }
          : null,
        scores: scores ? take(dense!.scores!.name, positions) : null,
        features: features
          ? {
              data: take(dense!.features!.name, positions * dense!.features!.channels),
              images: n,
              positions,
              dim: dense!.features!.channels,
            }
          : null,
      };
    });
  }

  /**
   * Runs the model on an already preprocessed input (rows x C x H x W float32, e.g. patches cut
   * from an image resized with resizeU8 and normalized like preprocess()). The input is copied to
   * the inference thread, unless `transfer: true` hands its buffer over (no copy; the caller's
   * array is detached) or it is shared memory (read in place: keep it unchanged until the call settles).
   * With several inference workers (`workers`) the rows are split between them and each part is
   * copied: `transfer: true` then gives up the buffer without detaching it.
   */
  async embedTensor(
    input: Float32Array,
    rows: number,
    options?: EmbedOptions & { transfer?: boolean },
  ): Promise<Matrix> {
    const { transfer: given, ...embed } = options ?? {};
    const transfer = given === undefined ? false : expectBoolean('options.transfer', given);
    const { output, batchSize, views } = resolveEmbedOptions(embed, this.batchSize);
    this.checkViews(views);
    const per = this.inputSize();
    if (!(input instanceof Float32Array)) throw invalidArgument('input', 'Float32Array', input);
    if (!Number.isInteger(rows) || rows < 0 || input.length !== rows * per) {
      throw invalidInput(
        'input',
        `Expected input of rows*${per} floats (C*H*W = ${this.inputShape.join('*')}) but received ${input.length} floats for rows ${describe(rows)}`,
      );
    }
    return this.tracked(() => this.runTensor(input, rows, output, batchSize, transfer, views));
  }

  /**
   * Releases the ONNX Runtime sessions and ends their worker threads, after the calls in flight.
   * Calling it again is harmless; embedding afterwards rejects with ERR_RELEASED.
   */
  async release(): Promise<void> {
    this.releasing = true;
    // Calls begun before release() finish with their results (a call begun after it is refused).
    await Promise.allSettled([...this.calls]);
    await this.pool.release();
  }

  /** True once release() was called. */
  get released(): boolean {
    return this.releasing;
  }

  /** Decoded images to the model's input tensor (native preprocessing, the images concurrently). */
  private async decodedTensor(
    list: readonly RawImage[],
    labels: readonly string[] | undefined,
    target: ModelColour,
  ): Promise<Float32Array> {
    const per = this.inputSize();
    const tensor = new Float32Array(list.length * per);
    await Promise.all(
      list.map(async (image, i) => {
        const label = labels?.[i] ?? `image ${i}`;
        // Already in the model's colour space (the pipeline's case) or the same rules as embed().
        const ready = image.channels === target.channels ? image : await decodeImage(image, label, { target });
        await this.writeInput(ready, label, tensor, i * per);
      }),
    );
    return tensor;
  }

  private inputSize(): number {
    const [c, h, w] = this.inputShape;
    return c * h * w;
  }

  /**
   * Resize + normalize an image in the model's colour space into `out` at `offset` (native, off the
   * JS thread); `label` names the image in errors.
   */
  private async writeInput(image: RawImage, label: string, out: Float32Array, offset: number): Promise<void> {
    const [, height, width] = this.inputShape;
    try {
      await preprocessInto(image, height, width, this.normalizeTable, out, offset);
    } catch (error) {
      // The native message names the argument ("image.width ..."); say which image it was.
      const e = error as OneclassError;
      throw new OneclassError(e.code ?? 'ERR_INTERNAL', `${label}: ${e.message}`, { path: label, cause: error });
    }
  }

  /** preprocess() for a slice of a larger call; `firstIndex` keeps "image i" in messages global. */
  private async preprocessRange(
    images: readonly ImageInput[],
    firstIndex: number,
    target: ModelColour,
    headers: readonly (Metadata | null)[] | null,
  ): Promise<Float32Array> {
    const per = this.inputSize();
    const out = new Float32Array(images.length * per);
    await Promise.all(
      images.map(async (input, i) => {
        // Converted to the model's colour space as the manifest says (python-export/colour.py
        // does the same in training), or refused in strict mode (docs/encoders.md).
        const label = describeInput(input, firstIndex + i);
        const decoded = await decodeImage(input, label, {
          target,
          maxPixels: this.decodeLimits.maxImagePixels,
          header: headers?.[i],
        });
        await this.writeInput(decoded, label, out, i * per);
      }),
    );
    return out;
  }

  private async embedBatches(
    images: readonly ImageInput[],
    outputs: readonly EncoderOutput[],
    batchSize: number,
    target: ModelColour,
    views: ImageViews,
  ): Promise<Partial<Record<EncoderOutput, Matrix>>> {
    const list = expectArray<ImageInput>('images', images, 'an array of images');
    return this.tracked(() => this.embedList(list, outputs, batchSize, target, views));
  }

  private async embedList(
    list: readonly ImageInput[],
    outputs: readonly EncoderOutput[],
    batchSize: number,
    target: ModelColour,
    views: ImageViews,
  ): Promise<Partial<Record<EncoderOutput, Matrix>>> {
    const n = list.length;
    const result: Partial<Record<EncoderOutput, Matrix>> = {};
    const count = viewCount(views);
    for (const o of outputs) {
      const cols = count * this.outputSize(o);
      result[o] = { data: new Float32Array(n * cols), rows: n, cols };
    }
    // Decode batch k+1 (sharp, libuv threads) while batch k runs in ONNX Runtime; a batch stops
    // short of the decoded-pixel budget (pixel-budget.ts).
    const steps = prefetched(
      n,
      batchSize,
      async (start, end) => {
        const { taken, headers } = await budgetBatch(list.slice(start, end), this.decodeLimits);
        return { taken, input: await this.preprocessRange(list.slice(start, start + taken), start, target, headers) };
      },
      (step) => step.taken,
    );
    // One batch in flight per inference worker (inference-pool.ts): with two CPU workers, two
    // batches run at once. Each writes its own rows; the first failure is thrown once the others
    // have settled, so no run outlives the call.
    const running: Promise<void>[] = [];
    try {
      for await (const {
        start,
        end,
        value: { input },
      } of steps) {
        const run = this.runViews(input, end - start, outputs, batchSize, true, views).then((res) => {
          for (const o of outputs) result[o]!.data.set(res[o]!.data, start * result[o]!.cols);
        });
        run.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
        running.push(run);
        if (running.length >= this.pool.workerCount) await running.shift();
      }
      while (running.length > 0) await running.shift();
    } finally {
      await Promise.allSettled(running);
    }
    return result;
  }

  private async runTensor(
    input: Float32Array,
    rows: number,
    output: EncoderOutput,
    batchSize: number,
    transfer: boolean,
    views: ImageViews = 'none',
  ): Promise<Matrix> {
    if (rows === 0) return { data: new Float32Array(0), rows, cols: viewCount(views) * this.outputSize(output) };
    return (await this.runViews(input, rows, [output], batchSize, transfer, views))[output]!;
  }

  /** run() over the views of `count` images (views.ts), joined into one row per image. */
  private async runViews(
    input: Float32Array,
    count: number,
    outputs: readonly EncoderOutput[],
    batchSize: number,
    transfer: boolean,
    views: ImageViews,
  ): Promise<Partial<Record<EncoderOutput, Matrix>>> {
    const k = viewCount(views);
    const [c, h] = this.inputShape;
    const tensor = k === 1 ? input : rotatedViews(input, count, c, h);
    const res = await this.run(tensor, k * count, outputs, batchSize, k === 1 ? transfer : true);
    const out: Partial<Record<EncoderOutput, Matrix>> = {};
    for (const o of outputs) out[o] = joinViews({ data: res[o]!, rows: k * count, cols: this.outputSize(o) }, count, k);
    return out;
  }

  /** Views this encoder's input can have (a quarter turn needs a square input). */
  private checkViews(views: ImageViews): void {
    const [, h, w] = this.inputShape;
    checkViews(views, h, w, 'options.views');
  }

  /** Inference in a worker thread, `batchSize` images per ONNX Runtime call. */
  private async run(
    input: Float32Array,
    count: number,
    outputs: readonly EncoderOutput[],
    batchSize: number,
    transfer: boolean,
  ): Promise<Partial<Record<EncoderOutput, Float32Array>>> {
    const [c, h, w] = this.inputShape;
    const request = {
      dims: [c, h, w] as [number, number, number],
      inputName: this.manifest.input.name,
      outputs: outputs.map((name) => ({ name, cols: this.outputSize(name) })),
      batchSize,
    };
    const workers = this.pool.workerCount;
    if (workers < 2 || count < 2) return this.pool.run({ ...request, input, transfer, count });
    // Several workers: the images are cut into parts of at most batchSize (and at most a
    // worker's share), one part in flight per worker, each copied on its way (the pool copies a
    // part of a buffer); the outputs are put back together in order.
    const per = c * h * w;
    const part = Math.min(batchSize, Math.ceil(count / workers));
    const result: Partial<Record<EncoderOutput, Float32Array>> = {};
    for (const o of request.outputs) result[o.name] = new Float32Array(count * o.cols);
    let next = 0;
    let stop = false;
    const lane = async () => {
      while (next < count && !stop) {
        const start = next;
        const n = Math.min(part, count - start);
        next += n;
        const slice = input.subarray(start * per, (start + n) * per);
        try {
          const res = await this.pool.run({ ...request, input: slice, transfer: false, count: n });
          for (const o of request.outputs) result[o.name]!.set(res[o.name]!, start * o.cols);
        } catch (error) {
          stop = true; // the other lanes start no new part
          throw error;
        }
      }
    };
    const lanes = Array.from({ length: Math.min(workers, Math.ceil(count / part)) }, lane);
    const settled = await Promise.allSettled(lanes);
    const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
    return result;
  }

  /** Runs an embedding call, counted so that release() can wait for it. */
  private async tracked<T>(work: () => Promise<T>): Promise<T> {
    this.requireUsable();
    const call = work();
    this.calls.add(call);
    try {
      return await call;
    } finally {
      this.calls.delete(call);
    }
  }

  /** Fails fast, before any decoding, once the encoder was released. */
  private requireUsable(): void {
    if (this.releasing) {
      throw new OneclassError('ERR_RELEASED', `The encoder ${this.label} was released; load it again to use it`, {
        path: this.modelPath ?? undefined,
      });
    }
  }
}
