/**
 * The pipeline's model file: ONE safetensors file with everything needed to score.
 *
 *   tensors   encoder.onnx          U8   the ONNX encoder (absent when only referenced)
 *             detector.image        U8   the image-level detector's own safetensors bytes
 *             detector.patch.<p>    U8   patch detectors (one, or one per patch position); for the
 *                                        dense methods, the memory bank (patchcore) or the
 *                                        per-position Gaussians (padim), none for segmentation
 *   metadata  format   'oneclass/pipeline'
 *             version  layout version (a newer one is refused with a clear message): 1, 2 for
 *                      files with a dense localization, 3 for files whose image embeddings are
 *                      made of several views (older readers refuse those by their version)
 *             config   JSON: encoder manifest (preprocessing) + sha256, detector kind/options,
 *                      calibration (normalization and thresholds), localization geometry,
 *                      expected input, versions, training summary
 *             sha256   of config + every tensor's bytes: any flipped byte -> ERR_MODEL_FORMAT
 *
 * Reading validates every size and offset (decodeSafetensors), then the checksum, then every
 * config field it uses, before any detector or ONNX session is built.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

import {
  type EncoderManifest,
  type EncoderOutput,
  IMAGE_VIEWS,
  type ImageViews,
  validateManifest,
} from '../encoder/index.js';
import { modelFormat, type OneclassError } from '../errors.js';
import { openRegularFile, readExactly } from '../io/regular-file.js';
import {
  dataSectionLength,
  decodeSafetensors,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  type Tensor,
  tensor,
} from '../io/safetensors.js';
import { MAX_SIGMA } from '../localization/heatmaps.js';
import { expectOneOf } from '../validate.js';
import { type Calibration, checkCalibration } from './calibration.js';
import { type DenseLocalization, isDenseMethod } from './dense-localization.js';
import { MAX_RESIZE, type PatchGeometry, patchGridProblem } from './features.js';
import type { ExpectedInput } from './images.js';
import { isDetectorKind } from './registry.js';

export const PIPELINE_FORMAT = 'oneclass/pipeline';
export const PIPELINE_VERSION = 3;
/** The layout of files without a dense localization or views: still 1, so that older readers read them. */
const CROPS_LAYOUT_VERSION = 1;
const DENSE_LAYOUT_VERSION = 2;

/** The oldest layout that can hold this config, so that every reader that can read it does. */
function layoutVersion(config: PipelineConfig): number {
  if ((config.encoder.views ?? 'none') !== 'none') return PIPELINE_VERSION;
  return isDenseLocalization(config.localization) ? DENSE_LAYOUT_VERSION : CROPS_LAYOUT_VERSION;
}
/** Refuse to read model files larger than this (a hostile size must not become a huge allocation). */
export const MAX_MODEL_FILE_BYTES = 2 ** 31;

/** Largest image side (fixed training size) a model file may record. */
const MAX_IMAGE_SIDE = 1 << 20;

/**
 * How an image's score is formed, as stored: 'image' the image-level detector; 'heatmap-max' the
 * largest patch score (crops) or the largest value of the smoothed heatmap (dense methods);
 * 'heatmap-top-k' the mean of the smoothed heatmap's largest 1% (dense methods).
 */
export type ImageScoreMode = 'image' | 'heatmap-max' | 'heatmap-top-k';
export const IMAGE_SCORE_MODES: readonly ImageScoreMode[] = ['image', 'heatmap-max', 'heatmap-top-k'];

/** The names of FitOptions.imageScore: the public ones and the stored ones (older API). */
export const IMAGE_SCORE_NAMES = {
  detector: 'image',
  max: 'heatmap-max',
  'top-k-mean': 'heatmap-top-k',
  image: 'image',
  'heatmap-max': 'heatmap-max',
  'heatmap-top-k': 'heatmap-top-k',
} as const satisfies Record<string, ImageScoreMode>;
export type ImageScoreName = keyof typeof IMAGE_SCORE_NAMES;

/** FitOptions.imageScore to the stored mode. */
export function imageScoreMode(path: string, value: unknown): ImageScoreMode {
  const names = Object.keys(IMAGE_SCORE_NAMES) as ImageScoreName[];
  return IMAGE_SCORE_NAMES[expectOneOf(path, value, names)];
}

/** The crop-grid localization of image-level encoders (features.ts). */
export interface CropsLocalization {
  /** Absent in files written before the dense methods. */
  method?: 'crops';
  geometry: PatchGeometry;
  perPosition: boolean;
  sigma: number;
  detector: StoredDetector;
  calibration: Calibration;
}

export type Localization = CropsLocalization | DenseLocalization;

export function isDenseLocalization(loc: Localization | null): loc is DenseLocalization {
  return loc !== null && isDenseMethod((loc as { method?: unknown }).method);
}

/** A detector as the model file keeps it: its kind and the options it was fitted with. */
export interface StoredDetector {
  kind: string;
  options: Record<string, unknown>;
}

export interface PipelineConfig {
  versions: { oneclass: string; layout: number; node: string };
  encoder: {
    /** File name of the ONNX model when it was fitted (also the name used when unpacking it). */
    file: string;
    sha256: string;
    embedded: boolean;
    /** Where the referenced encoder lives (absolute path at fit time); only when not embedded. */
    path?: string;
    /** Bytes of the ONNX model (absent in files written before it was recorded). */
    size?: number;
    manifest: EncoderManifest;
    output: EncoderOutput;
    /** The views each image embedding is made of; absent: 'none' (src/encoder/views.ts). */
    views?: ImageViews;
  };
  detector: StoredDetector;
  imageScore: ImageScoreMode;
  image: Calibration;
  localization: null | Localization;
  input: ExpectedInput;
  training: { images: number; heldOut: number; skipped: string[]; fittedAt: string };
}

export interface ModelParts {
  config: PipelineConfig;
  encoderBytes: Uint8Array | null;
  imageDetector: Uint8Array;
  patchDetectors: Uint8Array[];
}

export function packageVersion(): string {
  try {
    // src/pipeline and dist/pipeline are both two levels below the package root.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function checksum(config: string, tensors: Record<string, Tensor>): string {
  const hash = createHash('sha256').update(config);
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name];
    hash.update(name).update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return hash.digest('hex');
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function encodeModelFile(parts: ModelParts): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  if (parts.encoderBytes) tensors['encoder.onnx'] = tensor(parts.encoderBytes);
  tensors['detector.image'] = tensor(parts.imageDetector);
  parts.patchDetectors.forEach((b, p) => (tensors[`detector.patch.${p}`] = tensor(b)));
  const config = JSON.stringify(parts.config);
  return encodeSafetensors(tensors, {
    format: PIPELINE_FORMAT,
    version: String(layoutVersion(parts.config)),
    config,
    sha256: checksum(config, tensors),
  });
}

function bad(source: string, why: string): OneclassError {
  return modelFormat(source, `${source} is not a usable oneclass model: ${why}`);
}

export function decodeModelFile(bytes: Uint8Array, source = 'model bytes'): ModelParts {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  if (metadata.format !== PIPELINE_FORMAT) {
    throw bad(
      source,
      `it holds '${metadata.format ?? 'no format'}' (expected '${PIPELINE_FORMAT}'; detector bytes are read with <Detector>.fromBytes)`,
    );
  }
  const version = Number(metadata.version);
  if (!Number.isInteger(version) || version < 1) throw bad(source, `invalid layout version '${metadata.version}'`);
  if (version > PIPELINE_VERSION) {
    throw bad(
      source,
      `it was written by a newer oneclass (model layout version ${version}; this oneclass ${packageVersion()} reads up to ${PIPELINE_VERSION}). Upgrade oneclass to read it.`,
    );
  }
  const configText = metadata.config;
  if (typeof configText !== 'string') throw bad(source, 'the config metadata is missing');
  if (metadata.sha256 !== checksum(configText, tensors))
    throw bad(source, 'checksum mismatch: the file is corrupted or was modified');
  let config: PipelineConfig;
  try {
    config = JSON.parse(configText) as PipelineConfig;
  } catch {
    throw bad(source, 'the config metadata is not JSON');
  }
  checkConfig(config, tensors, source);
  const u8 = (name: string): Uint8Array => {
    const t = tensors[name];
    if (!t || t.dtype !== 'U8' || t.shape.length !== 1)
      throw bad(source, `tensor '${name}' is missing or not a 1-D U8 tensor`);
    return t.data as Uint8Array;
  };
  const patches = patchTensorCount(config.localization);
  const encoderBytes = config.encoder.embedded ? u8('encoder.onnx') : null;
  if (encoderBytes && config.encoder.size !== undefined && encoderBytes.length !== config.encoder.size)
    throw bad(
      source,
      `the embedded encoder holds ${encoderBytes.length} bytes, the config says ${config.encoder.size}`,
    );
  if (encoderBytes && sha256(encoderBytes) !== config.encoder.sha256)
    throw bad(source, 'the embedded encoder does not match its sha256');
  return {
    config,
    encoderBytes,
    imageDetector: u8('detector.image'),
    patchDetectors: Array.from({ length: patches }, (_, p) => u8(`detector.patch.${p}`)),
  };
}

/** The detector.patch.<p> tensors a localization config implies. */
function patchTensorCount(loc: Localization | null): number {
  if (loc === null) return 0;
  if (isDenseLocalization(loc)) return loc.method === 'segmentation' ? 0 : 1;
  return loc.perPosition ? loc.geometry.gridRows * loc.geometry.gridCols : 1;
}

function checkConfig(c: PipelineConfig, tensors: Record<string, Tensor>, source: string): void {
  const fail = (field: string) => {
    throw bad(source, `config field '${field}' is missing or invalid`);
  };
  if (c === null || typeof c !== 'object') fail('config');
  const e = c.encoder;
  if (!e || typeof e.file !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256 ?? '') || typeof e.embedded !== 'boolean')
    fail('encoder');
  if (e.output !== 'pooled' && e.output !== 'projection') fail('encoder.output');
  if (e.views !== undefined && !IMAGE_VIEWS.includes(e.views)) fail('encoder.views');
  if (!e.embedded && typeof e.path !== 'string') fail('encoder.path');
  try {
    validateManifest(e.manifest, `${source} (embedded manifest)`);
  } catch (cause) {
    throw bad(source, (cause as Error).message);
  }
  // Everything that drives an allocation or a loop later (scoring, heatmaps) is bounded here, even
  // in a file whose checksum is valid (a crafted file is re-hashed): a bad value is this file's
  // fault (ERR_MODEL_FORMAT, exit 4), found before any detector or session exists.
  if (e.size !== undefined && !(Number.isSafeInteger(e.size) && e.size > 0 && e.size <= MAX_MODEL_FILE_BYTES))
    fail('encoder.size');
  if (!e.embedded && !path.isAbsolute(e.path!)) fail('encoder.path (not an absolute path)');
  const storedDetector = (d: StoredDetector | undefined) =>
    d && isDetectorKind(d.kind) && d.options !== null && typeof d.options === 'object';
  if (!storedDetector(c.detector)) fail('detector');
  if (!IMAGE_SCORE_MODES.includes(c.imageScore)) fail('imageScore');
  checkCalibration(c.image, 'image');
  const input = c.input;
  if (!input || !(input.channels === 1 || input.channels === 3)) fail('input.channels');
  const side = (v: unknown) => Number.isInteger(v) && (v as number) > 0 && (v as number) <= MAX_IMAGE_SIDE;
  if (input.size !== null && !(side(input.size?.width) && side(input.size?.height))) fail('input.size');
  const loc = c.localization;
  if (loc !== null && typeof loc !== 'object') fail('localization');
  if (isDenseLocalization(loc)) checkDenseLocalization(loc, e.manifest, fail);
  else if (loc !== null) {
    if (loc.method !== undefined && loc.method !== 'crops') fail('localization.method');
    if (c.imageScore === 'heatmap-top-k') fail('imageScore (heatmap-top-k needs a dense localization)');
    const g = loc.geometry;
    const ints = [g?.resize, g?.patchSize, g?.stride, g?.gridRows, g?.gridCols];
    if (!ints.every((v) => Number.isInteger(v) && v > 0 && v <= MAX_RESIZE)) fail('localization.geometry');
    if (g.patchSize > g.resize || g.stride > g.resize) fail('localization.geometry');
    if (g.gridRows !== Math.floor((g.resize - g.patchSize) / g.stride) + 1 || g.gridCols !== g.gridRows)
      fail('localization.geometry');
    const { channels, height, width } = e.manifest.input;
    const problem = patchGridProblem(g, channels * height * width);
    if (problem) throw bad(source, `config field 'localization.geometry' is too large: ${problem}`);
    if (typeof loc.perPosition !== 'boolean') fail('localization.perPosition');
    if (!(typeof loc.sigma === 'number' && loc.sigma > 0 && loc.sigma <= MAX_SIGMA)) fail('localization.sigma');
    if (!storedDetector(loc.detector)) fail('localization.detector');
    checkCalibration(loc.calibration, 'localization.calibration');
  } else if (c.imageScore !== 'image') fail(`imageScore (${c.imageScore} needs localization)`);
  // Every tensor the config implies must exist and nothing else (checked by u8() for presence).
  const expected = patchTensorCount(loc);
  const present = Object.keys(tensors).filter((k) => k.startsWith('detector.patch.')).length;
  if (present !== expected)
    throw bad(source, `${present} patch detectors stored, the localization config needs ${expected}`);
}

/** A dense localization must match the embedded manifest's grid; sizes are bounded. */
function checkDenseLocalization(
  loc: DenseLocalization,
  manifest: PipelineConfig['encoder']['manifest'],
  fail: (field: string) => never,
): void {
  const d = manifest.dense;
  const g = loc.grid;
  if (!d || !g || g.height !== d.grid.height || g.width !== d.grid.width || g.stride !== d.stride)
    fail("localization.grid (it must be the embedded manifest's dense grid)");
  if (!(typeof loc.sigma === 'number' && loc.sigma >= 0 && loc.sigma <= MAX_SIGMA)) fail('localization.sigma');
  checkCalibration(loc.calibration, 'localization.calibration');
  const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
  if (loc.method === 'patchcore') {
    const b = loc.bank;
    if (!b || !count(b.rows) || !count(b.sourceRows) || !count(b.dim) || typeof b.coresetRatio !== 'number')
      fail('localization.bank');
  }
  if (loc.method === 'padim') {
    const p = loc.padim;
    if (!p || p.positions !== g.height * g.width || !count(p.dim) || typeof p.regularization !== 'number')
      fail('localization.padim');
  }
}

/**
 * Reads a model file: a regular file only (never a device or FIFO: /dev/zero as a model once grew
 * to 16 GB), at most MAX_MODEL_FILE_BYTES, and of it exactly the bytes its header accounts for
 * (length prefix, header, data up to the last tensor's end).
 */
export async function readModelFile(file: string): Promise<ModelParts> {
  const { handle, size } = await openRegularFile(file, 'model file', MAX_MODEL_FILE_BYTES);
  try {
    return decodeModelFile(await headerBoundedBytes(handle, size, file), file);
  } finally {
    await handle.close();
  }
}

async function headerBoundedBytes(handle: FileHandle, size: number, file: string): Promise<Uint8Array> {
  const where = () => `Cannot read model file ${file}`;
  if (size < 8) throw bad(file, `only ${size} bytes, shorter than the 8-byte header length`);
  const prefix = await readExactly(handle, 8, 0, where);
  const headerLength = new DataView(prefix.buffer).getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, size - 8)))
    throw bad(file, `header length ${headerLength} exceeds the ${size - 8} bytes that follow it (truncated?)`);
  const n = Number(headerLength);
  const header = await readExactly(handle, n, 8, where);
  // A header that does not parse is read whole so decodeSafetensors can say what is wrong.
  const data = dataSectionLength(header) ?? size - 8 - n;
  if (8 + n + data > size)
    throw bad(file, `its header describes ${8 + n + data} bytes but the file holds ${size} (truncated?)`);
  const bytes = new Uint8Array(8 + n + data);
  bytes.set(prefix, 0);
  bytes.set(header, 8);
  bytes.set(await readExactly(handle, data, 8 + n, where), 8 + n);
  return bytes;
}
