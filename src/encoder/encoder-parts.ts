/**
 * The encoder's data types (dense grid, forward options and results, origins) and the checks made
 * while loading one: reading the model file, the manifest's dense block, and the graph against
 * its manifest. encoder.ts holds the Encoder class that uses them.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { modelFormat } from '../errors.js';
import { type Matrix } from '../validate.js';
import type { ColourTarget } from './colour.js';
import { type GraphInfo } from './inference-pool.js';
import { denseOutput, type EncoderManifest, outputSize } from './manifest.js';
import { ENCODER_OUTPUTS, type EncoderOutput } from './types.js';

/** Manifest path for a model path: same folder and name, extension .json. */
export function manifestPathFor(modelPath: string): string {
  const ext = path.extname(modelPath);
  return ext === '.onnx' ? modelPath.slice(0, -ext.length) + '.json' : modelPath + '.json';
}

/** What a dense encoder (manifest "dense" block) produces per image, besides the image-level outputs. */
export interface DenseInfo {
  /** Grid rows and columns; cell (i, j) is centred on input pixel ((j + 0.5) * stride, (i + 0.5) * stride). */
  readonly gridHeight: number;
  readonly gridWidth: number;
  readonly stride: number;
  readonly receptiveField: number | null;
  /** The per-position anomaly score output (higher = more anomalous), if the model has one. */
  readonly scores: { readonly name: string } | null;
  /** The per-position feature output and its channels, if the model has one. */
  readonly features: { readonly name: string; readonly channels: number } | null;
}

/** What forwardDecoded fetches from one forward pass. */
export interface ForwardOptions {
  /** The image-level output (one row per image), or null for none. Default 'pooled'. */
  readonly output?: EncoderOutput | null;
  /** The dense encoder's per-position scores (images x gridHeight x gridWidth). */
  readonly scores?: boolean;
  /** The dense encoder's per-position features (images x positions x channels, position-major). */
  readonly features?: boolean;
  readonly batchSize?: number;
  readonly strictColour?: boolean;
  /** `labels[i]` names image i in errors. */
  readonly labels?: readonly string[];
}

export interface ForwardResult {
  image: Matrix | null;
  /** images x gridHeight x gridWidth, row-major. */
  scores: Float32Array | null;
  /**
   * images x positions x channels (position p = i * gridWidth + j), in a SharedArrayBuffer: native
   * calls read it in place instead of copying it on the JS thread (a batch's grids are megabytes).
   */
  features: { data: Float32Array; images: number; positions: number; dim: number } | null;
}

/** A colour target that names the model in strict mode's refusals. */
export type ModelColour = ColourTarget & { readonly model: string };

/** Where an encoder's parts came from, for messages and for model files that reference it. */
export interface Origin {
  modelPath: string | null;
  manifestPath: string | null;
  /** How the model is named in messages. */
  label: string;
}

export function denseInfo(manifest: EncoderManifest): DenseInfo | null {
  const d = manifest.dense;
  if (!d) return null;
  const scores = denseOutput(manifest, 'scores');
  const features = denseOutput(manifest, 'features');
  return {
    gridHeight: d.grid.height,
    gridWidth: d.grid.width,
    stride: d.stride,
    receptiveField: d.receptiveField ?? null,
    scores: scores ? { name: scores.name } : null,
    features: features ? { name: features.name, channels: features.channels } : null,
  };
}

/** The model file's bytes; a missing path or a folder is ERR_MODEL_FORMAT naming it. */
export async function readModelBytes(file: string): Promise<Uint8Array> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw modelFormat(file, `Encoder model ${file} is not a file`);
  } catch (cause) {
    if ((cause as { code?: string }).code === 'ERR_MODEL_FORMAT') throw cause;
    throw modelFormat(file, `Encoder model not found: ${file}`, cause);
  }
  try {
    return new Uint8Array(await readFile(file));
  } catch (cause) {
    throw modelFormat(file, `Cannot read encoder model ${file}: ${(cause as Error).message}`, cause);
  }
}

/** The graph must take the manifest's input shape and produce the named outputs with the manifest's sizes. */
export function checkGraphAgainstManifest(session: GraphInfo, manifest: EncoderManifest, origin: Origin): void {
  const mismatch = (what: string) =>
    modelFormat(
      origin.modelPath ?? undefined,
      `Model ${origin.label} disagrees with its manifest${origin.manifestPath ? ` ${origin.manifestPath}` : ''}: ${what}`,
    );
  const inputIndex = session.inputNames.indexOf(manifest.input.name);
  if (inputIndex < 0) {
    throw mismatch(
      `manifest input '${manifest.input.name}' is not among the graph inputs [${session.inputNames.join(', ')}]`,
    );
  }
  const meta = session.inputMetadata[inputIndex];
  const { channels, height, width } = manifest.input;
  if (meta?.isTensor) {
    const shape = meta.shape ?? [];
    const expected = [channels, height, width];
    // Symbolic (string) dimensions accept any size; numeric ones must agree.
    const bad = shape.length !== 4 || expected.some((v, i) => typeof shape[i + 1] === 'number' && shape[i + 1] !== v);
    if (bad) {
      throw mismatch(`graph input shape is [${shape.join(', ')}], manifest says [batch, ${expected.join(', ')}]`);
    }
    if (meta.type !== 'float32') throw mismatch(`graph input type is ${meta.type}, manifest says float32`);
  }
  for (const o of ENCODER_OUTPUTS) {
    const idx = session.outputNames.indexOf(o);
    if (idx < 0) throw mismatch(`output '${o}' is not among the graph outputs [${session.outputNames.join(', ')}]`);
    const om = session.outputMetadata[idx];
    const size = outputSize(manifest, o);
    if (om?.isTensor && om.shape?.length === 2 && typeof om.shape[1] === 'number' && om.shape[1] !== size) {
      throw mismatch(`graph output '${o}' has ${om.shape[1]} columns, manifest says ${size}`);
    }
  }
  // Dense outputs of the kinds this version uses must exist; their shapes are checked at each run.
  for (const kind of ['scores', 'features'] as const) {
    const o = denseOutput(manifest, kind);
    if (o && !session.outputNames.includes(o.name))
      throw mismatch(`dense output '${o.name}' is not among the graph outputs [${session.outputNames.join(', ')}]`);
  }
}
