/**
 * Encoder: an exported self-supervised model (.onnx + manifest .json) that turns images into
 * embedding matrices for the stage-2 one-class detectors.
 *
 * Preprocessing reproduces python-export/preprocess.py bit for bit (decode.ts, resize.ts,
 * normalize.ts); see docs/encoders.md for the measured parity with PyTorch.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';

import { InferenceSession, Tensor } from 'onnxruntime-node';

import type { ColourTarget } from './colour.js';
import { decodeImage, describeInput } from './decode.js';
import { describeValue, EncoderError, InvalidArgumentError, ModelFormatError } from './errors.js';
import { colourPolicyOf, type EncoderManifest, outputSize, readManifest } from './manifest.js';
import { buildNormalizeTable } from './normalize.js';
import { type EmbedOptions, type EncoderLoadOptions, resolveEmbedOptions, resolveLoadOptions } from './options.js';
import { preprocessInto } from './preprocess.js';
import { createSession } from './session.js';
import type { EmbeddingMatrix, EncoderBackend, EncoderOutput, ImageInput } from './types.js';

const OUTPUT_NAMES: readonly EncoderOutput[] = ['pooled', 'projection'];

/** Manifest path for a model path: same folder and name, extension .json. */
export function manifestPathFor(modelPath: string): string {
  const ext = path.extname(modelPath);
  return ext === '.onnx' ? modelPath.slice(0, -ext.length) + '.json' : modelPath + '.json';
}

export class Encoder {
  readonly modelPath: string;
  readonly manifestPath: string;
  readonly manifest: EncoderManifest;
  /** Backend the session runs on. */
  readonly backend: EncoderBackend;
  /** Why CUDA is not used although device 'auto' or 'cuda' asked for it; null otherwise. */
  readonly fallbackReason: string | null;
  readonly batchSize: number;
  /** Refuse gray/RGB mismatches and alpha instead of converting (load option strictColour). */
  readonly strictColour: boolean;
  private readonly session: InferenceSession;
  private readonly normalizeTable: Float32Array;

  private constructor(
    modelPath: string,
    manifestPath: string,
    manifest: EncoderManifest,
    session: InferenceSession,
    backend: EncoderBackend,
    fallbackReason: string | null,
    batchSize: number,
    strictColour: boolean,
  ) {
    this.modelPath = modelPath;
    this.manifestPath = manifestPath;
    this.manifest = manifest;
    this.session = session;
    this.backend = backend;
    this.fallbackReason = fallbackReason;
    this.batchSize = batchSize;
    this.strictColour = strictColour;
    this.normalizeTable = buildNormalizeTable(manifest.preprocess.mean, manifest.preprocess.std);
  }

  /**
   * Loads `<name>.onnx` and its manifest `<name>.json`. Rejects with ModelFormatError when either
   * is missing or corrupt, or when the graph's input/outputs disagree with the manifest.
   */
  static async load(modelPath: string, options?: EncoderLoadOptions): Promise<Encoder> {
    if (typeof modelPath !== 'string' || modelPath.length === 0) {
      throw new InvalidArgumentError(
        `Expected path of an .onnx file for modelPath but received ${describeValue(modelPath)}`,
      );
    }
    const opts = resolveLoadOptions(options);
    const resolved = path.resolve(modelPath);
    try {
      const st = await stat(resolved);
      if (!st.isFile()) throw new ModelFormatError(`Encoder model ${resolved} is not a file`, { file: resolved });
    } catch (cause) {
      if (cause instanceof EncoderError) throw cause;
      throw new ModelFormatError(`Encoder model not found: ${resolved}`, { file: resolved, cause });
    }
    const manifestPath = manifestPathFor(resolved);
    const manifest = await readManifest(manifestPath);
    let created;
    try {
      created = await createSession(resolved, opts.device, opts.threads);
    } catch (cause) {
      throw new ModelFormatError(
        `Cannot load encoder model ${resolved}: ${String((cause as Error).message ?? cause).trim()}`,
        {
          file: resolved,
          cause,
        },
      );
    }
    checkGraphAgainstManifest(created.session, manifest, resolved, manifestPath);
    return new Encoder(
      resolved,
      manifestPath,
      manifest,
      created.session,
      created.backend,
      created.fallbackReason,
      opts.batchSize,
      opts.strictColour,
    );
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
   * (pass it as `decodeImage(input, label, { target })` to decode images the way embed() does).
   */
  colourTarget(strictColour: boolean = this.strictColour): ColourTarget & { model: string } {
    return {
      channels: this.manifest.input.channels,
      policy: colourPolicyOf(this.manifest),
      strict: strictColour,
      model: `model ${this.modelPath}`,
    };
  }

  /**
   * Decodes and preprocesses images into the model's input tensor (N x C x H x W float32), exactly
   * as training did. Exposed for parity tests and for callers that cache inputs.
   */
  async preprocess(images: readonly ImageInput[], options?: { strictColour?: boolean }): Promise<Float32Array> {
    checkImageArray(images);
    const { strictColour } = resolveEmbedOptions(options, this.batchSize, this.strictColour);
    return this.preprocessRange(images, 0, strictColour);
  }

  /** preprocess() for a slice of a larger call; `firstIndex` keeps "image i" in messages global. */
  private async preprocessRange(
    images: readonly ImageInput[],
    firstIndex: number,
    strictColour: boolean,
  ): Promise<Float32Array> {
    const [channels, height, width] = this.inputShape;
    const per = channels * height * width;
    const out = new Float32Array(images.length * per);
    const target = this.colourTarget(strictColour);
    await Promise.all(
      images.map(async (input, i) => {
        // Converted to the model's colour space as the manifest says (python-export/colour.py
        // does the same in training), or refused in strict mode (docs/encoders.md).
        const decoded = await decodeImage(input, describeInput(input, firstIndex + i), { target });
        await preprocessInto(decoded, height, width, this.normalizeTable, out, i * per);
      }),
    );
    return out;
  }

  /** Embeds images; returns an images.length x outputSize(output) row-major matrix. */
  async embed(images: readonly ImageInput[], options?: EmbedOptions): Promise<EmbeddingMatrix> {
    const { output, batchSize, strictColour } = resolveEmbedOptions(options, this.batchSize, this.strictColour);
    return (await this.embedBatches(images, [output], batchSize, strictColour))[output]!;
  }

  /** Embeds images once and returns both outputs. */
  async embedAll(
    images: readonly ImageInput[],
    options?: Omit<EmbedOptions, 'output'>,
  ): Promise<Record<EncoderOutput, EmbeddingMatrix>> {
    const { batchSize, strictColour } = resolveEmbedOptions(options, this.batchSize, this.strictColour);
    return (await this.embedBatches(images, OUTPUT_NAMES, batchSize, strictColour)) as Record<
      EncoderOutput,
      EmbeddingMatrix
    >;
  }

  /**
   * Runs the model on an already preprocessed input (rows x C x H x W float32, e.g. patches cut
   * from an image resized with resizeU8 and normalized like preprocess()).
   */
  async embedTensor(input: Float32Array, rows: number, options?: EmbedOptions): Promise<EmbeddingMatrix> {
    const { output, batchSize } = resolveEmbedOptions(options, this.batchSize);
    const per = this.inputShape[0] * this.inputShape[1] * this.inputShape[2];
    if (!(input instanceof Float32Array)) {
      throw new InvalidArgumentError(`Expected Float32Array for input but received ${describeValue(input)}`);
    }
    if (!Number.isInteger(rows) || rows < 0 || input.length !== rows * per) {
      throw new InvalidArgumentError(
        `Expected input of rows*${per} floats (C*H*W = ${this.inputShape.join('*')}) but received ${input.length} floats for rows ${describeValue(rows)}`,
      );
    }
    const cols = this.outputSize(output);
    const data = new Float32Array(rows * cols);
    for (let start = 0; start < rows; start += batchSize) {
      const count = Math.min(batchSize, rows - start);
      const res = await this.run(input.subarray(start * per, (start + count) * per), count, [output]);
      data.set(res[output]!, start * cols);
    }
    return { data, rows, cols };
  }

  /** Releases the ONNX Runtime session. */
  async release(): Promise<void> {
    await this.session.release();
  }

  private async embedBatches(
    images: readonly ImageInput[],
    outputs: readonly EncoderOutput[],
    batchSize: number,
    strictColour: boolean,
  ): Promise<Partial<Record<EncoderOutput, EmbeddingMatrix>>> {
    checkImageArray(images);
    const n = images.length;
    const result: Partial<Record<EncoderOutput, EmbeddingMatrix>> = {};
    for (const o of outputs)
      result[o] = { data: new Float32Array(n * this.outputSize(o)), rows: n, cols: this.outputSize(o) };
    // Decode batch k+1 (sharp, libuv threads) while batch k runs in ONNX Runtime.
    const prepare = (start: number) =>
      this.preprocessRange(images.slice(start, start + batchSize), start, strictColour);
    let next: Promise<Float32Array> | undefined = n > 0 ? prepare(0) : undefined;
    for (let start = 0; start < n; start += batchSize) {
      const input = await next!;
      next = start + batchSize < n ? prepare(start + batchSize) : undefined;
      // Keep a failing prefetch from becoming an unhandled rejection if run() throws first.
      next?.catch(() => undefined);
      const count = Math.min(batchSize, n - start);
      const res = await this.run(input, count, outputs);
      for (const o of outputs) result[o]!.data.set(res[o]!, start * result[o]!.cols);
    }
    return result;
  }

  private async run(
    input: Float32Array,
    count: number,
    outputs: readonly EncoderOutput[],
  ): Promise<Partial<Record<EncoderOutput, Float32Array>>> {
    const [c, h, w] = this.inputShape;
    const feeds = { [this.manifest.input.name]: new Tensor('float32', input, [count, c, h, w]) };
    let res;
    try {
      res = await this.session.run(feeds, outputs as EncoderOutput[]);
    } catch (cause) {
      throw new ModelFormatError(`Inference failed for model ${this.modelPath}: ${(cause as Error).message}`, {
        file: this.modelPath,
        cause,
      });
    }
    const out: Partial<Record<EncoderOutput, Float32Array>> = {};
    for (const o of outputs) {
      const t = res[o];
      const size = this.outputSize(o);
      if (!t || !(t.data instanceof Float32Array) || t.data.length !== count * size) {
        throw new ModelFormatError(
          `Model ${this.modelPath} returned ${t ? `${t.type} [${t.dims.join(', ')}]` : 'nothing'} for output '${o}', manifest says float32 [${count}, ${size}]`,
          { file: this.modelPath },
        );
      }
      out[o] = t.data;
    }
    return out;
  }
}

function checkImageArray(images: unknown): void {
  if (!Array.isArray(images)) {
    throw new InvalidArgumentError(`Expected an array of images for images but received ${describeValue(images)}`);
  }
}

/** The graph must take the manifest's input shape and produce the named outputs with the manifest's sizes. */
function checkGraphAgainstManifest(
  session: InferenceSession,
  manifest: EncoderManifest,
  modelPath: string,
  manifestPath: string,
): void {
  const mismatch = (what: string) =>
    new ModelFormatError(`Model ${modelPath} disagrees with its manifest ${manifestPath}: ${what}`, {
      file: modelPath,
    });
  const inputIndex = session.inputNames.indexOf(manifest.input.name);
  if (inputIndex < 0) {
    throw mismatch(
      `manifest input '${manifest.input.name}' is not among the graph inputs [${session.inputNames.join(', ')}]`,
    );
  }
  const meta = session.inputMetadata[inputIndex];
  const { channels, height, width } = manifest.input;
  if (meta?.isTensor) {
    const shape = meta.shape;
    const expected = [channels, height, width];
    // Symbolic (string) dimensions accept any size; numeric ones must agree.
    const bad = shape.length !== 4 || expected.some((v, i) => typeof shape[i + 1] === 'number' && shape[i + 1] !== v);
    if (bad) {
      throw mismatch(`graph input shape is [${shape.join(', ')}], manifest says [batch, ${expected.join(', ')}]`);
    }
    if (meta.type !== 'float32') throw mismatch(`graph input type is ${meta.type}, manifest says float32`);
  }
  for (const o of OUTPUT_NAMES) {
    const idx = session.outputNames.indexOf(o);
    if (idx < 0) throw mismatch(`output '${o}' is not among the graph outputs [${session.outputNames.join(', ')}]`);
    const om = session.outputMetadata[idx];
    const size = outputSize(manifest, o);
    if (om?.isTensor && om.shape.length === 2 && typeof om.shape[1] === 'number' && om.shape[1] !== size) {
      throw mismatch(`graph output '${o}' has ${om.shape[1]} columns, manifest says ${size}`);
    }
  }
}
