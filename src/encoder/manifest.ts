/**
 * The manifest JSON written by python-export/export.py beside each .onnx file, and its validation.
 * Only the fields the encoder relies on are validated; "training" and "metrics" are kept as
 * written for provenance.
 */
import { readFile } from 'node:fs/promises';

import { modelFormat } from '../errors.js';
import { type AlphaMode, type ColourPolicy, DECODE_RULES, DEFAULT_COLOUR_POLICY } from './colour.js';
import { RESIZE_METHOD } from './resize.js';
import type { EncoderOutput } from './types.js';

export const MANIFEST_FORMAT = 'oneclass-encoder';
export const MANIFEST_VERSION = 1;

export interface EncoderManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: number;
  /** File name of the ONNX model, relative to the manifest's folder. */
  readonly model: string;
  readonly architecture: Readonly<Record<string, unknown>>;
  readonly input: {
    readonly name: string;
    readonly layout: 'NCHW';
    readonly dtype: 'float32';
    readonly channels: 1 | 3;
    readonly height: number;
    readonly width: number;
    readonly colorSpace: 'rgb' | 'gray';
  };
  readonly preprocess: {
    /**
     * How images are decoded to the input colour space (colour.ts). Old manifests have a
     * description string here (or nothing); they decode with the defaults, which give today's
     * pixels for every image the encoder accepted before it converted colours.
     */
    readonly decode?: string | ManifestDecode;
    readonly resize: { readonly method: typeof RESIZE_METHOD; readonly height: number; readonly width: number };
    readonly scale: '1/255';
    readonly mean: readonly number[];
    readonly std: readonly number[];
    readonly patchFrom?: { readonly resize: { readonly height: number; readonly width: number } };
  };
  readonly outputs: readonly { readonly name: EncoderOutput; readonly size: number; readonly description?: string }[];
  /** Dense encoders only: per-position outputs on one grid (absent for image-level encoders). */
  readonly dense?: DenseBlock;
  readonly training?: Readonly<Record<string, unknown>>;
  readonly metrics?: Readonly<Record<string, unknown>>;
}

/**
 * The manifest's "dense" block: outputs with one value or feature vector per grid position, from the
 * same forward pass as the image-level outputs. Grid cell (i, j) is centred on input pixel
 * ((j + 0.5) * stride, (i + 0.5) * stride), so the grid tiles the input exactly (grid * stride =
 * input side) and bilinear upsampling with align_corners=False maps it onto the image.
 */
export interface DenseBlock {
  readonly grid: { readonly height: number; readonly width: number };
  readonly stride: number;
  /** Theoretical receptive field of a grid cell, in input pixels (informative). */
  readonly receptiveField?: number;
  /** Outputs of a kind this version does not know are ignored (and never fetched). */
  readonly outputs: readonly DenseOutput[];
}

export type DenseOutputKind = 'scores' | 'features';
export const DENSE_OUTPUT_KINDS: readonly DenseOutputKind[] = ['scores', 'features'];

export interface DenseOutput {
  /** Graph output name: [N, gh, gw] for 'scores', [N, channels, gh, gw] for 'features'. */
  readonly name: string;
  /** 'scores': higher = more anomalous, one per position; 'features': a vector per position. */
  readonly kind: DenseOutputKind | string;
  readonly channels: number;
  readonly description?: string;
}

/** Values of one image's dense outputs together, at most (a 128 x 128 grid of 4096 channels). */
export const MAX_DENSE_VALUES = 2 ** 26;

/** preprocess.decode: the alpha policy, and the names of the fixed rules (checked, so that a rule
 * a later version adds is refused here instead of being decoded differently). */
export interface ManifestDecode {
  readonly alpha?: AlphaMode;
  readonly background?: readonly [number, number, number];
  readonly bitDepth?: (typeof DECODE_RULES)['bitDepth'];
  readonly cmyk?: (typeof DECODE_RULES)['cmyk'];
  readonly toGray?: (typeof DECODE_RULES)['toGray'];
  readonly iccProfile?: (typeof DECODE_RULES)['iccProfile'];
  readonly exifOrientation?: (typeof DECODE_RULES)['exifOrientation'];
}

function fail(file: string, field: string, expected: string, received: unknown): never {
  throw modelFormat(
    file,
    `Invalid encoder manifest ${file}: expected ${expected} for ${field} but received ${JSON.stringify(received)}`,
  );
}

/**
 * Sizes that drive allocations are bounded even in a manifest that is otherwise valid (one
 * travelling inside a crafted model file): an image side, an embedding width.
 */
export const MAX_INPUT_SIDE = 4096;
export const MAX_EMBEDDING_SIZE = 65536;

function isPositiveInt(v: unknown, max = MAX_INPUT_SIDE): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= max;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Validates a parsed manifest; `file` is used in error messages. */
export function validateManifest(value: unknown, file: string): EncoderManifest {
  const m = obj(value) ?? fail(file, 'the manifest', 'a JSON object', value);
  if (m.format !== MANIFEST_FORMAT) fail(file, 'format', `'${MANIFEST_FORMAT}'`, m.format);
  if (m.version !== MANIFEST_VERSION) fail(file, 'version', String(MANIFEST_VERSION), m.version);
  if (typeof m.model !== 'string' || m.model.length === 0) fail(file, 'model', 'a file name', m.model);

  const input = obj(m.input) ?? fail(file, 'input', 'an object', m.input);
  if (typeof input.name !== 'string') fail(file, 'input.name', 'a string', input.name);
  if (input.layout !== 'NCHW') fail(file, 'input.layout', "'NCHW'", input.layout);
  if (input.dtype !== 'float32') fail(file, 'input.dtype', "'float32'", input.dtype);
  if (input.channels !== 1 && input.channels !== 3) fail(file, 'input.channels', '1 or 3', input.channels);
  if (!isPositiveInt(input.height)) fail(file, 'input.height', `an integer in [1, ${MAX_INPUT_SIDE}]`, input.height);
  if (!isPositiveInt(input.width)) fail(file, 'input.width', `an integer in [1, ${MAX_INPUT_SIDE}]`, input.width);
  const expectedSpace = input.channels === 3 ? 'rgb' : 'gray';
  if (input.colorSpace !== expectedSpace) fail(file, 'input.colorSpace', `'${expectedSpace}'`, input.colorSpace);

  const pre = obj(m.preprocess) ?? fail(file, 'preprocess', 'an object', m.preprocess);
  const resize = obj(pre.resize) ?? fail(file, 'preprocess.resize', 'an object', pre.resize);
  if (resize.method !== RESIZE_METHOD) fail(file, 'preprocess.resize.method', `'${RESIZE_METHOD}'`, resize.method);
  if (resize.height !== input.height || resize.width !== input.width) {
    fail(file, 'preprocess.resize', `height/width equal to input (${input.height}x${input.width})`, resize);
  }
  validateDecode(pre.decode, file);
  if (pre.scale !== '1/255') fail(file, 'preprocess.scale', "'1/255'", pre.scale);
  for (const key of ['mean', 'std'] as const) {
    const arr = pre[key];
    if (
      !Array.isArray(arr) ||
      arr.length !== input.channels ||
      !arr.every((v) => typeof v === 'number' && Number.isFinite(v))
    ) {
      fail(file, `preprocess.${key}`, `an array of ${input.channels} finite numbers`, arr);
    }
  }
  if (!(pre.std as number[]).every((v) => v > 0)) fail(file, 'preprocess.std', 'positive numbers', pre.std);
  if (pre.patchFrom !== undefined) {
    const from = obj(obj(pre.patchFrom)?.resize);
    if (!from || !isPositiveInt(from.height) || !isPositiveInt(from.width)) {
      fail(
        file,
        'preprocess.patchFrom.resize',
        `an object with integer height and width in [1, ${MAX_INPUT_SIDE}]`,
        pre.patchFrom,
      );
    }
  }

  if (!Array.isArray(m.outputs)) fail(file, 'outputs', 'an array', m.outputs);
  for (const name of ['pooled', 'projection']) {
    const out = (m.outputs as unknown[]).map(obj).find((o) => o?.name === name);
    if (!out) fail(file, 'outputs', `an entry named '${name}'`, m.outputs);
    if (!isPositiveInt(out.size, MAX_EMBEDDING_SIZE))
      fail(file, `outputs['${name}'].size`, `an integer in [1, ${MAX_EMBEDDING_SIZE}]`, out.size);
  }
  if (m.dense !== undefined) validateDense(m.dense, input.height as number, input.width as number, file);
  return m as unknown as EncoderManifest;
}

function validateDense(value: unknown, height: number, width: number, file: string): void {
  const d = obj(value) ?? fail(file, 'dense', 'an object', value);
  const grid = obj(d.grid) ?? fail(file, 'dense.grid', 'an object { height, width }', d.grid);
  if (!isPositiveInt(grid.height)) fail(file, 'dense.grid.height', `an integer in [1, ${MAX_INPUT_SIDE}]`, grid.height);
  if (!isPositiveInt(grid.width)) fail(file, 'dense.grid.width', `an integer in [1, ${MAX_INPUT_SIDE}]`, grid.width);
  if (!isPositiveInt(d.stride)) fail(file, 'dense.stride', `an integer in [1, ${MAX_INPUT_SIDE}]`, d.stride);
  // The heatmaps map cell (i, j) to pixel ((j + 0.5) * stride, (i + 0.5) * stride): only exact if
  // the grid tiles the input.
  if (grid.height * d.stride !== height || grid.width * d.stride !== width) {
    fail(
      file,
      'dense.grid',
      `a grid that tiles the ${height}x${width} input at stride ${d.stride} (grid * stride = input side)`,
      grid,
    );
  }
  if (d.receptiveField !== undefined && !isPositiveInt(d.receptiveField, 1 << 20))
    fail(file, 'dense.receptiveField', 'a positive integer', d.receptiveField);
  if (!Array.isArray(d.outputs)) fail(file, 'dense.outputs', 'an array', d.outputs);
  const seen = new Set<string>();
  for (const [i, entry] of (d.outputs as unknown[]).entries()) {
    const o = obj(entry) ?? fail(file, `dense.outputs[${i}]`, 'an object', entry);
    if (typeof o.name !== 'string' || o.name.length === 0)
      fail(file, `dense.outputs[${i}].name`, 'a non-empty string', o.name);
    if (o.name === 'pooled' || o.name === 'projection' || seen.has(o.name))
      fail(file, `dense.outputs[${i}].name`, 'a name no other output has', o.name);
    seen.add(o.name);
    if (typeof o.kind !== 'string') fail(file, `dense.outputs[${i}].kind`, 'a string', o.kind);
    if (!isPositiveInt(o.channels, MAX_EMBEDDING_SIZE))
      fail(file, `dense.outputs[${i}].channels`, `an integer in [1, ${MAX_EMBEDDING_SIZE}]`, o.channels);
    if (o.kind === 'scores' && o.channels !== 1) fail(file, `dense.outputs[${i}].channels`, '1 for scores', o.channels);
    if (o.channels * grid.height * grid.width > MAX_DENSE_VALUES)
      fail(file, `dense.outputs[${i}].channels`, `at most ${MAX_DENSE_VALUES} values per image`, o.channels);
  }
  for (const kind of DENSE_OUTPUT_KINDS) {
    if ((d.outputs as { kind?: unknown }[]).filter((o) => o.kind === kind).length > 1)
      fail(file, 'dense.outputs', `at most one output of kind '${kind}'`, d.outputs);
  }
}

/** The dense output of a kind this version knows, or undefined. */
export function denseOutput(manifest: EncoderManifest, kind: DenseOutputKind): DenseOutput | undefined {
  return manifest.dense?.outputs.find((o) => o.kind === kind);
}

function validateDecode(value: unknown, file: string): void {
  if (value === undefined || typeof value === 'string') return;
  const d = obj(value) ?? fail(file, 'preprocess.decode', 'an object (or a description string)', value);
  if (d.alpha !== undefined && d.alpha !== 'flatten' && d.alpha !== 'drop') {
    fail(file, 'preprocess.decode.alpha', "'flatten' or 'drop'", d.alpha);
  }
  if (
    d.background !== undefined &&
    !(
      Array.isArray(d.background) &&
      d.background.length === 3 &&
      d.background.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)
    )
  ) {
    fail(file, 'preprocess.decode.background', 'three integers 0 to 255 (R, G, B)', d.background);
  }
  for (const [key, rule] of Object.entries(DECODE_RULES)) {
    if (d[key] !== undefined && d[key] !== rule) fail(file, `preprocess.decode.${key}`, `'${rule}'`, d[key]);
  }
}

/** The colour policy a manifest asks for (defaults for old manifests). */
export function colourPolicyOf(manifest: EncoderManifest): ColourPolicy {
  const d = manifest.preprocess.decode;
  if (d === undefined || typeof d === 'string') return DEFAULT_COLOUR_POLICY;
  return {
    alpha: d.alpha ?? DEFAULT_COLOUR_POLICY.alpha,
    background: d.background ?? DEFAULT_COLOUR_POLICY.background,
  };
}

/** Reads and validates a manifest file; every failure is ERR_MODEL_FORMAT naming the file. */
export async function readManifest(file: string): Promise<EncoderManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw modelFormat(
      file,
      code === 'ENOENT'
        ? `Encoder manifest not found: ${file} (expected beside the .onnx file, same name with .json)`
        : `Cannot read encoder manifest ${file}: ${(cause as Error).message}`,
      cause,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw modelFormat(file, `Encoder manifest ${file} is not valid JSON: ${(cause as Error).message}`, cause);
  }
  return validateManifest(parsed, file);
}

export function outputSize(manifest: EncoderManifest, output: EncoderOutput): number {
  return manifest.outputs.find((o) => o.name === output)!.size;
}
